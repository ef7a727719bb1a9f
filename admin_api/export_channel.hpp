#pragma once
// Hands CSV chunks from the query thread that reads the rows to the session that writes
// them. The queue is bounded, so a slow client slows the export down (the producer waits)
// instead of the whole result piling up in memory; a client that goes away closes the
// channel and the producer stops reading rows. The consumer's side runs on an I/O thread and
// never waits: the producer is a query thread, which may run at a lower priority
// (query_priority.hpp) and be preempted while it holds the lock.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>

namespace gm::admin_api {

class export_channel {
public:
    explicit export_channel(std::size_t max_chunks = 4, const std::atomic<bool>* stopping = nullptr);

    // Producer: waits while the queue is full. false: the consumer closed the channel (or
    // the server is stopping); stop producing.
    bool push(std::string&& chunk);
    // Producer: no more chunks; ok=false means the export failed part-way.
    void finish(bool ok);

    // busy: the producer holds the lock at this instant; ask again shortly.
    enum class pop_result { chunk, empty, done, failed, busy };
    // Consumer: takes the next chunk if there is one.
    pop_result pop(std::string& out);
    // Consumer: gives up (client gone); wakes a waiting producer (within its 200 ms poll at
    // worst, since this does not take the lock).
    void close();

private:
    const std::size_t max_chunks_;
    const std::atomic<bool>* stopping_;
    std::mutex mutex_;  // guards everything below
    std::condition_variable space_;
    std::deque<std::string> chunks_;
    bool finished_ = false;
    bool ok_ = true;
    std::atomic<bool> closed_{false};  // set without the lock by close()
};

}  // namespace gm::admin_api
