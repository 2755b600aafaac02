-- mesh-tailor Host passthrough, at the edge (Istio GATEWAY, first HTTP filter).
--
-- The gateway is a mesh peer, so whatever it forwards is trusted by the inbound filter:
-- no client outside the mesh may choose a Host through it. Strip HEADER from every request.

-- mesh-tailor:config:begin
local HEADER = "x-mesh-tailor-original-host"
-- mesh-tailor:config:end

function envoy_on_request(handle)
  handle:headers():remove(HEADER)
end
