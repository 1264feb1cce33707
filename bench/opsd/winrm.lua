-- wrk script: POST /api/winrm round-trips against the fake WinRM endpoint.
wrk.method = "POST"
wrk.body = '{"host":"bench-ws","command":"status"}'
wrk.headers["Content-Type"] = "application/json"
