#pragma once
// A query thread's way to the client: the query thread writes the response to the client's
// socket itself. The CSV export streams its rows framed as HTTP chunks (or, to an HTTP/1.0
// client, unframed up to the connection's end), in big pieces (flush/finish); a JSON query
// sends its whole rendered message at once (send_whole).
//
// Why not hand the chunks to the I/O thread: each hand-over woke the I/O thread (and, when
// the SCHED_IDLE query thread was preempted holding the queue's lock, the I/O thread came
// back every millisecond to look again), so an export cost the thread that relays the
// proxy's calls ~4-10 wakes, more per megabyte. Here the I/O thread parses the request and
// is woken once more at the end to read the next one: two wakes, as for a JSON query,
// whatever the size. Blocking is fine on a query thread: when the socket is full it waits
// in poll() for the client to read, so a slow client holds one chunk in memory (and the
// kernel's socket buffers) and slows the rows down; a client that goes away makes the next
// send fail and the producer stops reading rows.
//
// Nothing else may write to the socket meanwhile; the session may read the next request but
// answers nothing and closes nothing while its query runs (admin_session.hpp).
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

struct iovec;

namespace gm::admin_api {

class response_channel {
public:
    struct limits {
        // Body bytes collected before they are sent as one chunk (one sendmsg when the socket
        // takes it): the producer's memory, and how few sends a small export needs.
        // 0 for send_whole, which collects no body (nothing is reserved).
        std::size_t chunk_bytes = 256 * 1024;
        // No byte taken by the socket for this long: the client is too slow, give up.
        std::chrono::milliseconds stall_timeout{30'000};
        // false: the body goes as it is and its end is the connection's (HTTP/1.0 has no
        // chunked coding); the caller closes the connection after finish().
        bool chunked = true;
    };
    enum class state { open, client_gone, stalled, stopping };

    // fd: a connected non-blocking stream socket (not owned). head: the response's status
    // line and fields for the body (chunked or not, as limits say), sent with the first chunk. stopping: the server's
    // stop flag, looked at while waiting for a slow client.
    response_channel(int fd, std::string&& head, limits l, const std::atomic<bool>* stopping = nullptr);
    response_channel(const response_channel&) = delete;
    response_channel& operator=(const response_channel&) = delete;

    // Producer: the body bytes of the chunk being collected; append to it.
    std::string& body() { return chunk_; }
    bool full() const { return chunk_.size() >= limits_.chunk_bytes; }
    // Sends the head (the first time) and the collected bytes as one chunk, waiting while the
    // socket is full. false: the channel is no longer open (see status()); stop producing.
    bool flush();
    // Sends what is left and the last chunk. true: the whole response reached the socket.
    // before_last, if given, learns the response's whole size (head, chunks, last chunk)
    // just before the last send.
    bool finish(const std::function<void(std::uint64_t)>& before_last = {});
    // Instead of the chunked body: sends the head (a whole HTTP message, e.g. a rendered JSON
    // response) as it is, waiting while the socket is full. true: every byte reached the
    // socket.
    bool send_whole();

    state status() const { return state_; }
    // Whether any byte went to the socket (after that an error can no longer be a status).
    bool started() const { return started_; }

    // Read from any thread (tests, counters).
    std::uint64_t bytes_sent() const { return bytes_sent_.load(std::memory_order_relaxed); }
    std::uint64_t sends() const { return sends_.load(std::memory_order_relaxed); }
    std::uint64_t waits() const { return waits_.load(std::memory_order_relaxed); }

private:
    bool send_chunk(bool last, const std::function<void(std::uint64_t)>* before_last = nullptr);
    bool send_all(iovec* iov, int count);
    bool wait_writable();

    const int fd_;
    std::string head_;
    const limits limits_;
    const std::atomic<bool>* stopping_;
    std::string chunk_;
    state state_ = state::open;
    bool started_ = false;
    std::atomic<std::uint64_t> bytes_sent_{0};
    std::atomic<std::uint64_t> sends_{0};  // sendmsg calls that took bytes
    std::atomic<std::uint64_t> waits_{0};  // times the socket was full
};

const char* to_string(response_channel::state s) noexcept;

// The bytes written to a connected TCP socket so far, as the kernel counts them (acknowledged
// plus still queued): once it reaches the end of a response, every byte of that response is
// in the kernel and nobody needs to send more of it. The two reads are not atomic together:
// `upper` orders them so that the result is never below the true count at the end of the
// call, otherwise never above it at its start. 0 when the kernel does not say (not TCP).
std::uint64_t tcp_bytes_written(int fd, bool upper) noexcept;

}  // namespace gm::admin_api
