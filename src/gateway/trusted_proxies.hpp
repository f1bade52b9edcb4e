#pragma once
// Which peers may tell the gateway who the client is (forwarding.trusted_proxies). A request from
// a listed peer keeps its X-Forwarded-For / Forwarded chain (the gateway appends to it); from
// anyone else those headers are a client's claim and are replaced. Empty (the default): nobody is
// trusted. The address matching is core::AddressBlocks, which serve's trusted proxies use too.
#include "core/address_blocks.hpp"

namespace outboard::gateway {

using TrustedProxies = core::AddressBlocks;

}  // namespace outboard::gateway
