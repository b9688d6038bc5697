-- wrk script for bench/run's upload row: every request POSTs 1 MiB
-- (1048576 bytes of "x", the bytes of the row's check) to the URL.
wrk.method = "POST"
wrk.body = string.rep("x", 1048576)
wrk.headers["Content-Type"] = "application/octet-stream"
