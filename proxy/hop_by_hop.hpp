#pragma once
// RFC 9110 section 7.6.1: a proxy removes the connection-specific fields, and the fields
// that Connection names, before forwarding a message; everything else passes unchanged.
#include <boost/beast/http/fields.hpp>

namespace gm::proxy {

// Returns false when the message names a field in Connection that must not be removed
// in a way that changes its meaning (never, currently): kept for symmetry of use.
void strip_hop_by_hop(boost::beast::http::fields& fields);

}  // namespace gm::proxy
