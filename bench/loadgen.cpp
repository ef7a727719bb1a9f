// gm-loadgen: a small HTTP/1.1 load generator for bench/run.sh (wrk2 is not in Debian).
// One thread, epoll, keep-alive connections, a response parser that understands
// Content-Length and chunked bodies (so SSE streams count as one request each).
//
//   closed: C connections, each sends its next request as soon as the answer is complete;
//           gives requests/s.
//   open:   requests scheduled at a fixed rate, latency measured from the scheduled time
//           (so a stall is not hidden by sending less: no coordinated omission).
//   idle:   opens C connections, does one request on each, prints "ready", holds them open
//           for the duration: for a proxy's memory with many idle keep-alive clients.
//   open with --pair-port D: each tick sends the request both to --port (the proxy) and to
//           D (the upstream directly), in alternating order, and also reports the
//           percentiles of the per-tick differences (proxy minus direct). Both requests of
//           a pair meet the same machine at the same moment, so a stall of the host, of
//           this program or of the upstream's scheduling delays both and cancels out in
//           the difference; what remains is the proxy's hop plus the part of the noise
//           the two requests do not share, which widens the tails of the difference on
//           both sides (its p50 is the median added latency, its p99 an upper estimate).
//
// Prints one line of key=value pairs for the script to parse. Standard library and POSIX
// only, so it builds with a plain compiler call when the CMake target is not there.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
    std::string host = "127.0.0.1";
    int port = 0;
    std::string mode = "closed";
    std::string shape = "unary";
    int connections = 16;
    double duration = 5;
    double warmup = 1;
    double rate = 1000;
    std::size_t body_bytes = 2048;
    int events = 20;
    std::size_t answer_bytes = 1500;
    std::string model = "gemini-2.5-flash";
    std::vector<std::string> headers;
    bool event_flush = false;
    int pair_port = 0;  // open mode: also send each tick's request to this port directly
    std::string pairs_out;  // paired runs: one line per tick (scheduled ns, proxy us, direct us)
};

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "gm-loadgen: %s: %s\n", what, std::strerror(errno));
    std::exit(2);
}

std::string make_request(const options& o) {
    // A ~2 KB generateContent body, shaped like what the SDKs send.
    std::string text(o.body_bytes > 120 ? o.body_bytes - 120 : 16, 'x');
    for (std::size_t i = 0; i < text.size(); i += 7) text[i] = ' ';
    const std::string body = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"" + text +
                             "\"}]}],\"generationConfig\":{\"temperature\":0.2,\"maxOutputTokens\":512}}";
    const bool sse = o.shape == "sse";
    std::string path = "/v1beta/models/" + o.model + (sse ? ":streamGenerateContent?alt=sse" : ":generateContent");
    std::string r = "POST " + path + " HTTP/1.1\r\nHost: " + o.host + ":" + std::to_string(o.port) + "\r\n";
    r += "content-type: application/json\r\n";
    r += "x-goog-api-key: bench-not-a-key\r\n";
    r += "x-goog-api-client: google-genai-sdk/1.30.0 gl-node/v22.0.0\r\n";
    r += "user-agent: google-genai-sdk/1.30.0 gl-node/v22.0.0\r\n";
    r += "accept-encoding: gzip, deflate\r\n";
    r += "X-Meter-User-Id: bench-user\r\n";
    if (sse) r += "x-fake-events: " + std::to_string(o.events) + "\r\n";
    // --event-flush: the fake writes each event on its own, so that a proxy relays 20
    // small writes rather than one 8 KB block.
    if (sse && o.event_flush) r += "x-fake-event-flush: 1\r\n";
    else r += "x-fake-body-size: " + std::to_string(o.answer_bytes) + "\r\n";
    for (const auto& h : o.headers) r += h + "\r\n";
    r += "content-length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    return r;
}

// Incremental HTTP/1.1 response parser: only what is needed to find the end of a message.
struct response_parser {
    enum class st { header, body_length, chunk_size, chunk_data, chunk_crlf, trailer, done };
    st state = st::header;
    std::string line;
    std::uint64_t remaining = 0;
    int status = 0;
    bool close = false;

    void reset() { *this = response_parser{}; }

    static bool has_token(const std::string& head, const char* name, const char* value) {
        std::string lower = head;
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        const auto p = lower.find(name);
        if (p == std::string::npos) return false;
        const auto e = lower.find("\r\n", p + 2);
        return lower.substr(p, e - p).find(value) != std::string::npos;
    }

    // Consumes bytes; returns how many were used (stops right after the message ends), or
    // -1 on a parse error.
    long feed(const char* data, std::size_t n) {
        std::size_t i = 0;
        while (i < n && state != st::done) {
            switch (state) {
            case st::header: {
                line.push_back(data[i++]);
                const std::size_t L = line.size();
                if (L >= 4 && line.compare(L - 4, 4, "\r\n\r\n") == 0) {
                    if (line.compare(0, 5, "HTTP/") != 0 || L < 12) return -1;
                    status = std::atoi(line.c_str() + 9);
                    close = has_token(line, "\r\nconnection:", "close");
                    std::string lower = line;
                    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
                    const auto cl = lower.find("\r\ncontent-length:");
                    if (status / 100 == 1) { line.clear(); break; }  // interim answer: read on
                    if (has_token(line, "\r\ntransfer-encoding:", "chunked")) {
                        state = st::chunk_size;
                    } else if (cl != std::string::npos) {
                        remaining = std::strtoull(lower.c_str() + cl + 17, nullptr, 10);
                        state = remaining ? st::body_length : st::done;
                    } else {
                        return -1;  // read-until-close bodies are not used by the bench
                    }
                    line.clear();
                }
                break;
            }
            case st::body_length: {
                const std::size_t k = std::min<std::uint64_t>(remaining, n - i);
                remaining -= k;
                i += k;
                if (remaining == 0) state = st::done;
                break;
            }
            case st::chunk_size:
                line.push_back(data[i++]);
                if (line.size() >= 2 && line.compare(line.size() - 2, 2, "\r\n") == 0) {
                    remaining = std::strtoull(line.c_str(), nullptr, 16);
                    line.clear();
                    state = remaining ? st::chunk_data : st::trailer;
                }
                break;
            case st::chunk_data: {
                const std::size_t k = std::min<std::uint64_t>(remaining, n - i);
                remaining -= k;
                i += k;
                if (remaining == 0) { state = st::chunk_crlf; remaining = 2; }
                break;
            }
            case st::chunk_crlf:
                ++i;
                if (--remaining == 0) state = st::chunk_size;
                break;
            case st::trailer:
                line.push_back(data[i++]);
                if (line.size() >= 2 && line.compare(line.size() - 2, 2, "\r\n") == 0) {
                    if (line.size() == 2) state = st::done;
                    line.clear();
                }
                break;
            case st::done:
                break;
            }
        }
        return static_cast<long>(i);
    }
};

struct connection {
    int side = 0;               // 0: --port, 1: --pair-port
    std::uint64_t tick = 0;     // paired runs: the tick this request belongs to
    int fd = -1;
    bool connected = false;
    bool busy = false;
    std::size_t out_off = 0;
    response_parser parser;
    clock_type::time_point started;  // send time (closed) or scheduled time (open)
};

struct runner {
    options o;
    std::string request;
    int ep = -1;
    std::vector<std::unique_ptr<connection>> conns;
    struct due {
        clock_type::time_point at;
        int side;
        std::uint64_t tick;
    };
    std::deque<due> backlog;  // open loop: due requests with no free connection
    // Paired runs: each measured tick's latency on either side, -1 until it completes.
    std::vector<std::array<std::int64_t, 2>> pairs;
    std::vector<clock_type::time_point> pair_at;  // each measured tick's scheduled time
    std::uint64_t ticks = 0;  // paired runs: ticks sent so far, for the alternating order
    std::vector<std::uint32_t> latencies_us;
    std::uint64_t total = 0, errors = 0, measured = 0;
    clock_type::time_point start, warm_end, end;
    bool stopping = false;
    int busy = 0;

    connection* open_connection(int side = 0) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) die("socket");
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(side ? o.pair_port : o.port));
        ::inet_pton(AF_INET, o.host.c_str(), &a.sin_addr);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) die("connect");
        auto c = std::make_unique<connection>();
        c->fd = fd;
        c->side = side;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
        ev.data.ptr = c.get();
        if (::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
        conns.push_back(std::move(c));
        return conns.back().get();
    }

    void close_connection(connection* c) {
        ::epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, nullptr);
        ::close(c->fd);
        c->fd = -1;
    }

    void send_on(connection* c, clock_type::time_point started, std::uint64_t tick = 0) {
        c->tick = tick;
        c->busy = true;
        ++busy;
        c->out_off = 0;
        c->parser.reset();
        c->started = started;
        if (c->connected) flush(c);
    }

    void flush(connection* c) {
        while (c->busy && c->out_off < request.size()) {
            const ssize_t n = ::send(c->fd, request.data() + c->out_off, request.size() - c->out_off, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN) return;
                return fail(c);
            }
            c->out_off += static_cast<std::size_t>(n);
        }
    }

    void fail(connection* c) {
        ++errors;
        if (c->busy) { c->busy = false; --busy; }
        close_connection(c);
        // Replace it, so that the load keeps its shape.
        if (!stopping) {
            connection* n = open_connection(c->side);
            if (o.mode == "closed") send_on(n, clock_type::now());
        }
    }

    void completed(connection* c) {
        const auto now = clock_type::now();
        c->busy = false;
        --busy;
        // Paired runs: the first line's counts and percentiles are the proxy side's.
        if (c->side == 0) ++total;
        if (c->parser.status != 200) ++errors;
        if (now >= warm_end && !stopping) {
            if (c->side == 0) ++measured;
            const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - c->started).count();
            if (c->side == 0)
                latencies_us.push_back(static_cast<std::uint32_t>(us));
            if (o.pair_port && c->tick < pairs.size())
                pairs[c->tick][c->side] = us;
        }
        if (c->parser.close) {
            close_connection(c);
            if (stopping) return;
            c = open_connection(c->side);
        }
        if (stopping || o.mode == "idle") return;
        if (o.mode == "closed") return send_on(c, clock_type::now());
        for (auto it = backlog.begin(); it != backlog.end(); ++it)
            if (it->side == c->side) {
                const due d = *it;
                backlog.erase(it);
                return send_on(c, d.at, d.tick);
            }
    }

    void on_event(connection* c, std::uint32_t events) {
        if (c->fd < 0) return;
        if (!c->connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) return fail(c);
            c->connected = true;
        }
        if (events & EPOLLOUT) flush(c);
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
            char buf[65536];
            for (;;) {
                const ssize_t n = ::recv(c->fd, buf, sizeof buf, 0);
                if (n < 0 && errno == EAGAIN) break;
                if (n <= 0) {
                    if (c->busy || !stopping) return fail(c);
                    close_connection(c);
                    return;
                }
                if (!c->busy) continue;  // stray bytes on an idle connection: ignore
                std::size_t off = 0;
                while (off < static_cast<std::size_t>(n) && c->busy) {
                    const long used = c->parser.feed(buf + off, static_cast<std::size_t>(n) - off);
                    if (used < 0) return fail(c);
                    off += static_cast<std::size_t>(used);
                    if (c->parser.state == response_parser::st::done) {
                        completed(c);
                        if (c->fd < 0) return;
                    }
                }
            }
        }
    }

    int run() {
        request = make_request(o);
        ep = ::epoll_create1(EPOLL_CLOEXEC);
        const int tfd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        epoll_event tev{};
        tev.events = EPOLLIN;
        tev.data.ptr = nullptr;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);

        start = clock_type::now();
        warm_end = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.warmup));
        end = warm_end + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.duration));
        for (int i = 0; i < o.connections; ++i) {
            connection* c = open_connection();
            if (o.mode == "closed" || o.mode == "idle") send_on(c, clock_type::now());
        }
        if (o.mode == "idle") {
            // One request per connection, then hold them all open.
            while (busy > 0) loop_once(100);
            std::printf("ready connections=%d errors=%llu\n", o.connections, static_cast<unsigned long long>(errors));
            std::fflush(stdout);
            const auto hold_until = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(
                                                            std::chrono::duration<double>(o.duration));
            stopping = true;
            while (clock_type::now() < hold_until) loop_once(100);
            return 0;
        }
        const auto interval = std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(1.0 / o.rate));
        auto next = start;
        if (o.mode == "open") arm(tfd, next);
        while (clock_type::now() < end) {
            epoll_event evs[256];
            const int n = ::epoll_wait(ep, evs, 256, 50);
            for (int i = 0; i < n; ++i) {
                if (evs[i].data.ptr == nullptr) {
                    // Not named `ticks`: a local of that name hid the member that
                    // alternates the pair order, so the direct side always left first.
                    std::uint64_t expirations;
                    [[maybe_unused]] auto r = ::read(tfd, &expirations, sizeof expirations);
                    const auto now = clock_type::now();
                    while (next <= now) {
                        if (o.pair_port) {
                            // Measured ticks get a slot; the order alternates so that
                            // neither side always leaves first.
                            std::uint64_t tick = pairs.size();
                            if (next >= warm_end) {
                                pairs.push_back({-1, -1});
                                pair_at.push_back(next);
                            }
                            else tick = ~0ull;
                            const int first = static_cast<int>(ticks++ % 2);
                            dispatch(next, first, tick);
                            dispatch(next, 1 - first, tick);
                        } else {
                            dispatch(next);
                        }
                        next += interval;
                    }
                    arm(tfd, next);
                } else {
                    on_event(static_cast<connection*>(evs[i].data.ptr), evs[i].events);
                }
            }
        }
        stopping = true;
        // Let in-flight requests finish (they count as carried, not as measured).
        const auto drain_until = clock_type::now() + std::chrono::seconds(3);
        while (busy > 0 && clock_type::now() < drain_until) loop_once(50);
        report();
        return 0;
    }

    void dispatch(clock_type::time_point scheduled, int side = 0, std::uint64_t tick = 0) {
        for (auto& c : conns)
            if (c->fd >= 0 && !c->busy && c->side == side) return send_on(c.get(), scheduled, tick);
        if (static_cast<int>(conns.size()) < 4096) return send_on(open_connection(side), scheduled, tick);
        backlog.push_back({scheduled, side, tick});
    }

    static void arm(int tfd, clock_type::time_point at) {
        itimerspec its{};
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
        its.it_value.tv_sec = ns / 1000000000;
        its.it_value.tv_nsec = ns % 1000000000;
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
        ::timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, nullptr);
    }

    void loop_once(int timeout_ms) {
        epoll_event evs[256];
        const int n = ::epoll_wait(ep, evs, 256, timeout_ms);
        for (int i = 0; i < n; ++i)
            if (evs[i].data.ptr) on_event(static_cast<connection*>(evs[i].data.ptr), evs[i].events);
    }

    void report() {
        std::sort(latencies_us.begin(), latencies_us.end());
        auto pct = [&](double p) -> unsigned long {
            if (latencies_us.empty()) return 0;
            const std::size_t idx = std::min(latencies_us.size() - 1, static_cast<std::size_t>(p * latencies_us.size()));
            return latencies_us[idx];
        };
        std::printf("mode=%s shape=%s total=%llu measured=%llu errors=%llu seconds=%.3f rps=%.1f p50_us=%lu p90_us=%lu "
                    "p99_us=%lu max_us=%lu connections=%zu\n",
                    o.mode.c_str(), o.shape.c_str(), static_cast<unsigned long long>(total),
                    static_cast<unsigned long long>(measured), static_cast<unsigned long long>(errors), o.duration,
                    measured / o.duration, pct(0.5), pct(0.9), pct(0.99),
                    latencies_us.empty() ? 0ul : static_cast<unsigned long>(latencies_us.back()), conns.size());
        if (o.pair_port) report_pairs();
    }

    // A second line for paired runs: both sides' percentiles over the
    // ticks where both completed, and the percentiles of the per-tick differences.
    void report_pairs() {
        // Steady-clock nanoseconds (CLOCK_MONOTONIC), so that the slow ticks can be matched
        // with a scheduler trace taken with perf's -k CLOCK_MONOTONIC.
        if (!o.pairs_out.empty())
            if (FILE* f = std::fopen(o.pairs_out.c_str(), "w")) {
                for (std::size_t i = 0; i < pairs.size(); ++i)
                    std::fprintf(f, "%lld %lld %lld\n",
                                 static_cast<long long>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                            pair_at[i].time_since_epoch())
                                                            .count()),
                                 static_cast<long long>(pairs[i][0]), static_cast<long long>(pairs[i][1]));
                std::fclose(f);
            }
        std::vector<std::int64_t> side[2], diff;
        for (const auto& p : pairs) {
            if (p[0] < 0 || p[1] < 0) continue;
            side[0].push_back(p[0]);
            side[1].push_back(p[1]);
            diff.push_back(p[0] - p[1]);
        }
        auto pct = [](std::vector<std::int64_t>& v, double q) -> long long {
            if (v.empty()) return 0;
            std::sort(v.begin(), v.end());
            return v[std::min(v.size() - 1, static_cast<std::size_t>(q * v.size()))];
        };
        std::printf("pairs=%zu unpaired=%zu proxy_p50_us=%lld proxy_p99_us=%lld direct_p50_us=%lld direct_p99_us=%lld "
                    "diff_p50_us=%lld diff_p90_us=%lld diff_p99_us=%lld\n",
                    diff.size(), pairs.size() - diff.size(), pct(side[0], 0.5), pct(side[0], 0.99), pct(side[1], 0.5),
                    pct(side[1], 0.99), pct(diff, 0.5), pct(diff, 0.9), pct(diff, 0.99));
    }
};

void usage() {
    std::fprintf(stderr,
                 "usage: gm-loadgen --port P [--host 127.0.0.1] [--mode closed|open|idle] [--shape unary|sse]\n"
                 "  [--connections C] [--duration S] [--warmup S] [--rate R] [--body-bytes N] [--events N] [--pairs-out FILE]\n"
                 "  [--answer-bytes N] [--model M] [--event-flush] [--header 'Name: value']... [--pair-port D]\n");
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    runner r;
    options& o = r.o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) usage();
            return argv[++i];
        };
        if (a == "--host") o.host = val();
        else if (a == "--port") o.port = std::atoi(val().c_str());
        else if (a == "--mode") o.mode = val();
        else if (a == "--shape") o.shape = val();
        else if (a == "--connections") o.connections = std::atoi(val().c_str());
        else if (a == "--duration") o.duration = std::atof(val().c_str());
        else if (a == "--warmup") o.warmup = std::atof(val().c_str());
        else if (a == "--rate") o.rate = std::atof(val().c_str());
        else if (a == "--body-bytes") o.body_bytes = std::strtoull(val().c_str(), nullptr, 10);
        else if (a == "--events") o.events = std::atoi(val().c_str());
        else if (a == "--answer-bytes") o.answer_bytes = std::strtoull(val().c_str(), nullptr, 10);
        else if (a == "--model") o.model = val();
        else if (a == "--header") o.headers.push_back(val());
        else if (a == "--event-flush") o.event_flush = true;
        else if (a == "--pair-port") o.pair_port = std::atoi(val().c_str());
        else if (a == "--pairs-out") o.pairs_out = val();
        else usage();
    }
    if (o.port <= 0 || (o.mode != "closed" && o.mode != "open" && o.mode != "idle") || o.connections <= 0 || o.rate <= 0 ||
        (o.pair_port && o.mode != "open"))
        usage();
    return r.run();
}
