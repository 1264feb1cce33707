-- wrk: poll one session's status (GET /session/{id}); the id comes from SESSION_ID.
local id = os.getenv("SESSION_ID")
request = function()
  return wrk.format("GET", "/session/" .. id)
end
