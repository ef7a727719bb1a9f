#pragma once
// Where the proxy hands finished records. submit() never blocks on the database: it
// appends to the journal and queues; a writer thread commits later.
#include "metering/usage_record.hpp"

namespace gm::storage {

class usage_sink {
public:
    virtual ~usage_sink() = default;
    virtual void submit(metering::usage_record&& record) = 0;
};

}  // namespace gm::storage
