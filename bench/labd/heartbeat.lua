-- wrk: POST /session/heartbeat with the X-Session-ID header of SESSION_ID.
local id = os.getenv("SESSION_ID")
wrk.method = "POST"
wrk.headers["X-Session-ID"] = id
wrk.path = "/session/heartbeat"
