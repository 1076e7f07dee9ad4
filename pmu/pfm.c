/*
 * libpfm4 glue: native event names ("pmu::EVENT:UMASK") encoded for
 * perf_events, and enumeration of the PMUs libpfm4 detects on this host.
 *
 * Kept in its own file because libpfm4's <perfmon/perf_event.h> declares its
 * own copy of struct perf_event_attr, which clashes with <linux/perf_event.h>:
 * this file sees only libpfm4's, and hands the encoding out as bytes (the two
 * layouts are the same kernel ABI, libpfm4's possibly shorter).
 *
 * libpfm4 keeps its tables in process-global state initialised by
 * pfm_initialize(); that call is idempotent (later calls return the first
 * result), so it is made lazily, only when a native name or a listing needs
 * it: initialising every table costs ~3 ms, most of `pmuprof stat`'s start-up.
 */
#include <perfmon/pfmlib_perf_event.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfm.h"

int pmu_pfm_init(void)
{
	return pfm_initialize() == PFM_SUCCESS ? 0 : -ENODEV;
}

/* Names of the PMUs libpfm4 finds present, comma separated, for messages. */
static void present_pmus(char *buf, size_t len)
{
	size_t used = 0;
	int i;
	buf[0] = 0;
	pfm_for_all_pmus(i)
	{
		pfm_pmu_info_t info;
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		if (pfm_get_pmu_info(i, &info) != PFM_SUCCESS || !info.is_present)
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", info.name);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

int pmu_pfm_encode(const char *name, void *attr, size_t attr_size, char *err, size_t errlen)
{
	struct perf_event_attr pattr;
	pfm_perf_encode_arg_t arg;
	memset(&pattr, 0, sizeof(pattr));
	memset(&arg, 0, sizeof(arg));
	arg.attr = &pattr;
	arg.size = sizeof(arg);
	/* Default to user+kernel like perf; the name's own :u/:k narrow it. */
	int ret = pfm_get_os_event_encoding(name, PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT_EXT, &arg);
	if (ret != PFM_SUCCESS) {
		char pmus[256];
		present_pmus(pmus, sizeof(pmus));
		snprintf(err, errlen,
			 "libpfm4 cannot encode '%s': %s (libpfm4 PMUs present on this host: %s; "
			 "LIBPFM_FORCE_PMU selects another table)",
			 name, pfm_strerror(ret), pmus[0] ? pmus : "none");
		return ret == PFM_ERR_NOTFOUND ? -ENOENT : -EINVAL;
	}
	memset(attr, 0, attr_size);
	memcpy(attr, &pattr, attr_size < sizeof(pattr) ? attr_size : sizeof(pattr));
	return 0;
}

int pmu_pfm_foreach(int (*fn)(const char *pmu, const char *pmu_desc, const char *event,
			      const char *desc, void *arg),
		    void *arg)
{
	int i;
	pfm_for_all_pmus(i)
	{
		pfm_pmu_info_t pinfo;
		memset(&pinfo, 0, sizeof(pinfo));
		pinfo.size = sizeof(pinfo);
		if (pfm_get_pmu_info(i, &pinfo) != PFM_SUCCESS || !pinfo.is_present)
			continue;
		for (int e = pinfo.first_event; e != -1; e = pfm_get_event_next(e)) {
			pfm_event_info_t einfo;
			memset(&einfo, 0, sizeof(einfo));
			einfo.size = sizeof(einfo);
			if (pfm_get_event_info(e, PFM_OS_PERF_EVENT_EXT, &einfo) != PFM_SUCCESS)
				continue;
			char full[256];
			snprintf(full, sizeof(full), "%s::%s", pinfo.name, einfo.name);
			int ret = fn(pinfo.name, pinfo.desc, full, einfo.desc, arg);
			if (ret)
				return ret;
		}
	}
	return 0;
}
