"""Fake WinRM: WS-Management constants, Windows' faults, envelopes and request parsing."""

import re
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape



NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
ANONYMOUS = NS["a"] + "/role/anonymous"
URI_CMD = NS["rsp"] + "/cmd"
ACTIONS = {
    NS["x"] + "/Create": "Create",
    NS["rsp"] + "/Command": "Command",
    NS["rsp"] + "/Receive": "Receive",
    NS["rsp"] + "/Signal": "Signal",
    NS["x"] + "/Delete": "Delete",
}
STATE_RUNNING = NS["rsp"] + "/CommandState/Running"
STATE_DONE = NS["rsp"] + "/CommandState/Done"
FAULT_ACTION = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
NTLM_OID = "1.3.6.1.4.1.311.2.2.10"
BOUNDARY = b"--Encrypted Boundary\r\n"
BOUNDARY_END = b"--Encrypted Boundary--\r\n"
CRYPT_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
CRYPT_CONTENT_TYPE = ('multipart/encrypted;protocol="%s";boundary="Encrypted Boundary"'
                      % CRYPT_PROTOCOL)
SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"
MAX_BODY = 8 * 1024 * 1024
PS_QUOTES = "'\u2018\u2019\u201a\u201b"

# Faults as Windows reports them: (code, subcode, WSManFault code, message)
FAULTS = {
    "TimedOut": ("s:Receiver", "w:TimedOut", 2150858793,
                 "The WS-Management service cannot complete the operation within the time "
                 "specified in OperationTimeout."),
    "InvalidSelectors": ("s:Sender", "w:InvalidSelectors", 2150858843,
                         "The request for the Windows Remote Shell with ShellId {shell} failed "
                         "because the shell was not found on the server. Possible causes are: "
                         "the specified ShellId is incorrect or the shell no longer exists on "
                         "the server. Provide the correct ShellId or create a new shell and "
                         "retry the operation."),
    "ActionNotSupported": ("s:Sender", "a:ActionNotSupported", 2150858792,
                           "The WS-Management service does not support the specified action."),
    "SchemaValidationError": ("s:Sender", "w:SchemaValidationError", 2150858817,
                              "The SOAP XML in the message does not match the corresponding "
                              "XML schema definition. {detail}"),
    "DestinationUnreachable": ("s:Sender", "w:DestinationUnreachable", 2150858770,
                               "The WS-Management service cannot process the request because "
                               "the resource URI is not valid: {detail}"),
    "InvalidCommandId": ("s:Sender", "w:InvalidSelectors", 2150858843,
                         "The request for the Windows Remote Shell failed because the "
                         "CommandId {detail} is not valid."),
}


class Fault(Exception):
    """A SOAP fault to answer with HTTP 500."""

    def __init__(self, kind, detail="", shell="", subcode=None, code=None, reason=None,
                 soap_code=None):
        tmpl = FAULTS.get(kind, FAULTS["SchemaValidationError"])
        self.soap_code = soap_code or tmpl[0]
        self.subcode = subcode or tmpl[1]
        self.wsman_code = code if code is not None else tmpl[2]
        self.reason = reason or tmpl[3].format(shell=shell, detail=detail).strip()
        super().__init__(self.reason)


def envelope(action, relates_to, body):
    return ('<s:Envelope xml:lang="en-US" xmlns:s="{s}" xmlns:a="{a}" xmlns:x="{x}" '
            'xmlns:w="{w}" xmlns:rsp="{rsp}" xmlns:p="{p}">'
            "<s:Header><a:Action>{action}</a:Action>"
            "<a:MessageID>uuid:{mid}</a:MessageID>"
            "<a:To>{anon}</a:To>"
            "{rel}</s:Header><s:Body>{body}</s:Body></s:Envelope>").format(
                action=escape(action), mid=str(uuid.uuid4()).upper(), anon=ANONYMOUS,
                rel=("<a:RelatesTo>%s</a:RelatesTo>" % escape(relates_to)) if relates_to else "",
                body=body, **NS).encode("utf-8")


def fault_envelope(fault, relates_to):
    body = ('<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>{sub}</s:Value>'
            '</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{reason}</s:Text>'
            '</s:Reason><s:Detail><f:WSManFault xmlns:f="{f}" Code="{wcode}" '
            'Machine="fake-winrm"><f:Message>{reason}</f:Message></f:WSManFault></s:Detail>'
            '</s:Fault>').format(code=escape(fault.soap_code), sub=escape(fault.subcode),
                                 reason=escape(fault.reason), f=NS["f"],
                                 wcode=int(fault.wsman_code))
    return envelope(FAULT_ACTION, relates_to, body)


def parse_duration(text):
    m = re.fullmatch(r"PT(\d+(?:\.\d+)?)S", (text or "").strip())
    return float(m.group(1)) if m else None


class Request:
    """A validated WS-Man request."""

    def __init__(self, raw):
        try:
            root = ET.fromstring(raw)
        except ET.ParseError as e:
            raise Fault("SchemaValidationError", detail="Malformed XML: %s" % e)
        if root.tag != "{%s}Envelope" % NS["s"]:
            raise Fault("SchemaValidationError", detail="The root element is not s:Envelope.")
        self.header = root.find("s:Header", NS)
        self.body = root.find("s:Body", NS)
        if self.header is None or self.body is None:
            raise Fault("SchemaValidationError", detail="s:Header and s:Body are required.")
        self.message_id = self.text("a:MessageID")
        if not self.message_id or not re.fullmatch(r"uuid:[0-9A-Fa-f-]{36}", self.message_id):
            self.message_id = None
            raise Fault("SchemaValidationError", detail="a:MessageID is missing or invalid.")
        try:
            self.validate()
        except Fault as f:
            f.relates_to = self.message_id
            raise

    def validate(self):
        self.action_uri = self.text("a:Action")
        if not self.action_uri:
            raise Fault("SchemaValidationError", detail="a:Action is missing.")
        self.action = ACTIONS.get(self.action_uri)
        if not self.text("a:To"):
            raise Fault("SchemaValidationError", detail="a:To is missing.")
        if self.text("a:ReplyTo/a:Address") != ANONYMOUS:
            raise Fault("SchemaValidationError", detail="a:ReplyTo/a:Address must be anonymous.")
        max_env = self.text("w:MaxEnvelopeSize")
        if not max_env or not max_env.isdigit() or int(max_env) < 8192:
            raise Fault("SchemaValidationError", detail="w:MaxEnvelopeSize is missing or invalid.")
        self.max_envelope = int(max_env)
        self.operation_timeout = parse_duration(self.text("w:OperationTimeout"))
        if self.operation_timeout is None:
            raise Fault("SchemaValidationError",
                        detail="w:OperationTimeout is missing or invalid.")
        if self.text("w:ResourceURI") != URI_CMD:
            raise Fault("DestinationUnreachable", detail=str(self.text("w:ResourceURI")))
        self.selectors = {s.get("Name"): (s.text or "").strip()
                          for s in self.header.findall("w:SelectorSet/w:Selector", NS)}
        self.options = {o.get("Name"): (o.text or "").strip()
                        for o in self.header.findall("w:OptionSet/w:Option", NS)}

    def text(self, path):
        el = self.header.find(path, NS)
        return el.text.strip() if el is not None and el.text else None
