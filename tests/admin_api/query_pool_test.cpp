// The admin query threads: named gm-reader and at the configured priority before the pool's
// constructor returns, read back from /proc as the kernel sees them; queries still run.
#include "admin_api/query_pool.hpp"

#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include <future>
#include <latch>
#include <mutex>

#include "support/thread_sched.hpp"

using namespace gm::admin_api;
using gm::test::read_thread_sched;
using gm::test::threads_named;

namespace {

struct log_lines {
    std::mutex mutex;  // guards lines (written by the pool's threads)
    std::vector<std::string> lines;
    query_pool::logger logger() {
        return [this](const std::string& l) { std::lock_guard lock(mutex); lines.push_back(l); };
    }
};

// The tids of the pool's threads, taken from inside: one task per thread, each held until
// all have started, so that no thread takes two.
std::vector<pid_t> pool_tids(query_pool& pool, int threads) {
    std::latch all_in(threads);
    std::mutex mutex;
    std::vector<pid_t> tids;
    std::vector<std::future<void>> done;
    for (int i = 0; i < threads; ++i) {
        auto p = std::make_shared<std::promise<void>>();
        done.push_back(p->get_future());
        boost::asio::post(pool.get_executor(), [&, p] {
            {
                std::lock_guard lock(mutex);
                tids.push_back(::gettid());
            }
            all_in.arrive_and_wait();
            p->set_value();
        });
    }
    for (auto& d : done) d.get();
    return tids;
}

}  // namespace

TEST_CASE("idle: both query threads are named gm-reader and run under SCHED_IDLE") {
    log_lines log;
    query_pool pool(2, query_priority::idle, log.logger());
    const auto tids = pool_tids(pool, 2);
    REQUIRE(tids.size() == 2);
    for (auto tid : tids) {
        const auto t = read_thread_sched(tid);
        CHECK(t.name == "gm-reader");
        if (log.lines.empty()) {
            CHECK(t.policy == SCHED_IDLE);
        } else {
            // Refused (a seccomp profile): logged once, and the threads still answer.
            CHECK(log.lines.size() == 1);
            CHECK_THAT(log.lines[0], Catch::Contains("could not lower the query threads' CPU priority"));
        }
    }
}

TEST_CASE("low: SCHED_BATCH at nice 19") {
    log_lines log;
    query_pool pool(2, query_priority::low, log.logger());
    for (auto tid : pool_tids(pool, 2)) {
        const auto t = read_thread_sched(tid);
        CHECK(t.name == "gm-reader");
        if (log.lines.empty()) {
            CHECK(t.policy == SCHED_BATCH);
            CHECK(t.nice == 19);
        }
    }
}

TEST_CASE("normal: the query threads keep the priority of the thread that made the pool") {
    log_lines log;
    const auto self = read_thread_sched(::gettid());
    query_pool pool(1, query_priority::normal, log.logger());
    const auto tids = pool_tids(pool, 1);
    REQUIRE(tids.size() == 1);
    const auto t = read_thread_sched(tids[0]);
    CHECK(t.name == "gm-reader");
    CHECK(t.policy == self.policy);
    CHECK(t.nice == self.nice);
    CHECK(log.lines.empty());
}

TEST_CASE("the threads are set up when the constructor returns, and end with stop()") {
    log_lines log;
    const auto before = threads_named("gm-reader").size();
    {
        query_pool pool(3, query_priority::idle, log.logger());
        const auto now = threads_named("gm-reader");
        REQUIRE(now.size() == before + 3);
        if (log.lines.empty())
            for (const auto& t : now) CHECK(t.policy == SCHED_IDLE);
        pool.stop();
        pool.join();
    }
    CHECK(threads_named("gm-reader").size() == before);
}
