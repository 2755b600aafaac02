-- mesh-tailor Host passthrough, client side (Istio SIDECAR_OUTBOUND, before the router).
--
-- Istio's outbound sidecar routes HTTP on the Host header over a listener shared by every
-- service on the port, so a Host no service declares reaches none. For a pod that must send the
-- caller's original Host on, this filter keeps that Host in HEADER and rewrites :authority to
-- the address the app actually dialled (the service VIP, which Istio lists among a service's
-- virtual-host domains). The callee's inbound filter puts it back.
--
-- Envoy Lua API used (envoyproxy.io, HTTP Lua filter): headers():get/remove/replace,
-- streamInfo():downstreamLocalAddress() -- the original destination ("ip:port" or
-- "[ipv6]:port") of iptables-redirected traffic. A modified request header clears the
-- route cache, so the router matches the new :authority. Written for LuaJIT (Lua 5.1).

-- mesh-tailor:config:begin
local HEADER = "x-mesh-tailor-original-host"
local SERVICE_CIDRS = { "10.96.0.0/12" }
-- mesh-tailor:config:end

-- Addresses are compared as lists of 16-bit groups: 2 for IPv4, 8 for IPv6.
local function parse_ipv4(text)
  local a, b, c, d = string.match(text, "^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
  if a > 255 or b > 255 or c > 255 or d > 255 then return nil end
  return { a * 256 + b, c * 256 + d }
end

local function split_groups(part)
  local groups = {}
  if part == "" then return groups end
  for group in string.gmatch(part .. ":", "([^:]*):") do groups[#groups + 1] = group end
  return groups
end

local function parse_ipv6(text)
  if string.find(text, "[^%x:%.]") then return nil end
  local left, right = text, nil
  local first, last = string.find(text, "::", 1, true)
  if first then
    left, right = string.sub(text, 1, first - 1), string.sub(text, last + 1)
    if string.find(right, "::", 1, true) then return nil end
  end
  local parts = { split_groups(left), split_groups(right or "") }
  -- An IPv4 tail ("::ffff:10.0.0.1") stands for the last two groups.
  local tail_list = right and parts[2] or parts[1]
  local tail = tail_list[#tail_list]
  if tail and string.find(tail, ".", 1, true) then
    local v4 = parse_ipv4(tail)
    if not v4 then return nil end
    tail_list[#tail_list] = string.format("%x", v4[1])
    tail_list[#tail_list + 1] = string.format("%x", v4[2])
  end
  local count = #parts[1] + #parts[2]
  if (right and count > 7) or (not right and count ~= 8) then return nil end
  local groups = {}
  local function push(list)
    for _, group in ipairs(list) do
      if not string.match(group, "^%x%x?%x?%x?$") then return false end
      groups[#groups + 1] = tonumber(group, 16)
    end
    return true
  end
  if not push(parts[1]) then return nil end
  if right then for _ = 1, 8 - count do groups[#groups + 1] = 0 end end
  if not push(parts[2]) then return nil end
  return groups
end

-- An IPv4 address seen through a dual-stack socket (::ffff:a.b.c.d) is the IPv4 address.
local function unmap(groups)
  if #groups == 8 and groups[6] == 65535 then
    for i = 1, 5 do if groups[i] ~= 0 then return groups end end
    return { groups[7], groups[8] }
  end
  return groups
end

local function parse_cidr(cidr)
  local address, bits = string.match(cidr, "^([%x:%.]+)/(%d+)$")
  if not address then return nil end
  local groups = parse_ipv4(address) or parse_ipv6(address)
  bits = tonumber(bits)
  if not groups or bits > #groups * 16 then return nil end
  return { groups = unmap(groups), bits = bits }
end

local NETWORKS = {}
for _, cidr in ipairs(SERVICE_CIDRS) do
  local network = parse_cidr(cidr)
  if network then NETWORKS[#NETWORKS + 1] = network end
end

local function in_network(groups, network)
  if #groups ~= #network.groups then return false end
  local remaining = network.bits
  for i = 1, #groups do
    if remaining <= 0 then return true end
    if remaining >= 16 then
      if groups[i] ~= network.groups[i] then return false end
      remaining = remaining - 16
    else
      local scale = 2 ^ (16 - remaining)
      return math.floor(groups[i] / scale) == math.floor(network.groups[i] / scale)
    end
  end
  return true
end

local function in_service_cidrs(groups)
  for _, network in ipairs(NETWORKS) do
    if in_network(groups, network) then return true end
  end
  return false
end

-- "10.0.0.1:80" -> "10.0.0.1", groups; "[fd00::1]:80" -> "[fd00::1]", groups; else nil.
local function destination_host(address)
  if type(address) ~= "string" then return nil end
  local v6 = string.match(address, "^%[([%x:%.]+)%]:%d+$")
  if v6 then
    local groups = parse_ipv6(v6)
    return groups and ("[" .. string.lower(v6) .. "]"), groups and unmap(groups)
  end
  local v4 = string.match(address, "^(%d+%.%d+%.%d+%.%d+):%d+$")
  if v4 then return v4, parse_ipv4(v4) end
  return nil
end

function envoy_on_request(handle)
  local headers = handle:headers()
  -- Only this filter may set the header: a caller must not choose the Host its callee restores.
  headers:remove(HEADER)
  local destination = handle:streamInfo():downstreamLocalAddress()
  local host, groups = destination_host(destination)
  if not host or not groups or not in_service_cidrs(groups) then return end
  local authority = headers:get(":authority")
  if authority == nil or authority == "" then return end
  local lowered = string.lower(authority)
  if lowered == string.lower(destination) or lowered == host then return end
  headers:replace(HEADER, authority)
  headers:replace(":authority", destination)
end
