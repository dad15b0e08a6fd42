/*
 * nofsync.c - an LD_PRELOAD shim for bench/run's fsync part: fsync(2) and
 * fdatasync(2) return 0 at once, so that refmta's receive rate with and
 * without its fsyncs can be compared on the same machine in the same run
 * (docs/bench.md, "fsync").  A measuring aid only: a server run under it
 * keeps none of its durability promises (DESIGN.md principle 6).
 */
int fsync(int fd);
int fdatasync(int fd);

int
fsync(int fd)
{
	(void)fd;
	return 0;
}

int
fdatasync(int fd)
{
	(void)fd;
	return 0;
}
