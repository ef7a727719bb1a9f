#pragma once
// RFC 9110 section 7.6.1: a proxy removes the connection-specific fields, and the fields
// that Connection names, before forwarding a message; everything else passes unchanged.
#include "proxy/header_fields.hpp"

namespace gm::proxy {

void strip_hop_by_hop(header_fields& fields);

}  // namespace gm::proxy
