/*
 * perf.data's on-disk constants, shared by the reader (perfdata.c), the
 * writer (perfdata_write.c) and import: the header's magic and size, the
 * feature bits (perf's tools/perf/util/header.h) and perf's user record
 * types (tools/lib/perf/include/perf/event.h). Values only, no layout code.
 */
#ifndef PMUPROF_PERFDATA_FORMAT_H
#define PMUPROF_PERFDATA_FORMAT_H

#define PERFDATA_MAGIC2 0x32454c4946524550ULL /* "PERFILE2" read as a little-endian u64 */
#define PERFDATA_HEADER_SIZE 104              /* magic .. adds_features[256 bits] */
#define PERFDATA_FEAT_BITS 256

enum perfdata_feature {
	PERFDATA_FEAT_HOSTNAME = 3,
	PERFDATA_FEAT_OSRELEASE = 4,
	PERFDATA_FEAT_VERSION = 5,
	PERFDATA_FEAT_ARCH = 6,
	PERFDATA_FEAT_NRCPUS = 7,
	PERFDATA_FEAT_CMDLINE = 11,
	PERFDATA_FEAT_EVENT_DESC = 12,
	PERFDATA_FEAT_NUMA_TOPOLOGY = 14,
	PERFDATA_FEAT_CLOCKID = 23,
	PERFDATA_FEAT_CLOCK_DATA = 29,
};

#endif
