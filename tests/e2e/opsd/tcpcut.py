"""A TCP relay in front of a server that a test can cut: cut() ends every relayed connection
and refuses new ones (accepted and closed at once) until restore(). To the client it is a
network outage; nothing on the server is touched."""
import socket
import threading


class TcpCut:
    def __init__(self, target_port, target_host="127.0.0.1"):
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.socks = []
        self.is_cut = False
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if self.is_cut or self.stopping:
                    c.close()
                    continue
                try:
                    u = socket.create_connection(self.target, timeout=30)
                except OSError:
                    c.close()
                    continue
                u.settimeout(None)
                self.socks += [c, u]
            threading.Thread(target=self._pump, args=(c, u), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c), daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            self.is_cut = True
            for s in self.socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.socks = []

    def restore(self):
        with self.lock:
            self.is_cut = False

    def stop(self):
        self.stopping = True
        self.cut()
        self.listener.close()
