# Redis/Postgres area (issue 3): the driver throughput tool bench/redis_pg.sh
# compares with redis-benchmark and pgbench.
BENCH_DEPS += $(BUILD)/bench/redis_pg_bench

$(BUILD)/bench/redis_pg_bench: bench/redis_pg_bench.c $(BUILD)/libtorn.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libtorn.a $(LDLIBS)
