# Admin API benchmark (included from bench/CMakeLists.txt): a program to run by hand or
# from bench/admin_run.sh, not a test.
#   storage_fill --db bench-usage.db --rows 10000000   (fill once)
#   admin_bench  --db bench-usage.db                   (p50/p99 of every endpoint, server in process)
#   admin_bench  --port 9090 --token T                 (the same against a running gemini-meter)
#   admin_bench  --port 9090 --token T --rate 20 --duration 60   (admin load beside the proxy)
#   export_profile --db PATH [--minutes N] [--repeat N]  (the CSV export's query-thread work alone, for callgrind)
# bench/admin_run.sh runs the whole issue-5 benchmark: endpoint latency while the proxy
# carries load, and the proxy's CPU and p99 with and without 20 admin queries per second.
add_executable(admin_bench ${CMAKE_CURRENT_LIST_DIR}/admin_bench.cpp)
target_link_libraries(admin_bench PRIVATE gm_admin_api gm_storage gm_metering)
target_compile_options(admin_bench PRIVATE ${GM_WARNINGS})
# The control load of admin_run.sh's (B) variants: CPU bursts at the query threads' priority,
# with or without memory traffic, in place of the admin queries (idle_load.cpp says why).
add_executable(idle_load ${CMAKE_CURRENT_LIST_DIR}/idle_load.cpp)
target_link_libraries(idle_load PRIVATE Threads::Threads)
target_compile_options(idle_load PRIVATE ${GM_WARNINGS})

add_executable(export_profile ${CMAKE_CURRENT_LIST_DIR}/export_profile.cpp)
target_link_libraries(export_profile PRIVATE gm_admin_api gm_storage gm_metering)
target_compile_options(export_profile PRIVATE ${GM_WARNINGS})
