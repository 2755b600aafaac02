-- mesh-tailor Host passthrough, server side (Istio SIDECAR_INBOUND).
--
-- Puts back the Host that the caller's outbound filter saved in HEADER, and always removes
-- HEADER before the request reaches the app. The saved value is trusted only from an mTLS peer
-- whose SPIFFE identity is in one of TRUST_DOMAINS, only when there is exactly one value, and
-- only when it looks like a host ([host][:port], at most MAX_HOST_LENGTH characters, no spaces,
-- commas, CR or LF); otherwise the request keeps the :authority it arrived with.
--
-- Envoy Lua API used (envoyproxy.io, HTTP Lua filter): headers():getNumValues/get/remove/
-- replace, connection():ssl() (nil for plaintext) with peerCertificatePresented() and
-- uriSanPeerCertificate(). Written for LuaJIT (Lua 5.1).

-- mesh-tailor:config:begin
local HEADER = "x-mesh-tailor-original-host"
local TRUST_DOMAINS = { "cluster.local" }
local MAX_HOST_LENGTH = 255
-- mesh-tailor:config:end

local function from_mesh_peer(handle)
  local ssl = handle:connection():ssl()
  if ssl == nil or not ssl:peerCertificatePresented() then return false end
  for _, uri in ipairs(ssl:uriSanPeerCertificate() or {}) do
    local lowered = string.lower(uri)
    for _, domain in ipairs(TRUST_DOMAINS) do
      local prefix = "spiffe://" .. string.lower(domain) .. "/"
      if string.sub(lowered, 1, #prefix) == prefix then return true end
    end
  end
  return false
end

local function looks_like_host(value)
  return type(value) == "string" and #value > 0 and #value <= MAX_HOST_LENGTH
    and string.find(value, "^[%w%.%-_:%[%]]+$") ~= nil
end

function envoy_on_request(handle)
  local headers = handle:headers()
  local count = headers:getNumValues(HEADER)
  if count == 0 then return end
  local restored = nil
  if count == 1 and from_mesh_peer(handle) then
    local value = headers:get(HEADER)
    if looks_like_host(value) then restored = value end
  end
  headers:remove(HEADER)
  if restored then headers:replace(":authority", restored) end
end
