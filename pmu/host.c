/*
 * The host's side of opening events: perf_event_open itself, what the host
 * supports (paranoid level, hardware counters, precise sampling), which CPU
 * it is (vendor/family/model, for the presets), CPU lists, and turning a
 * failed open into one line that names the cause and the fix.
 */
#include "pmu_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

bool pmu_errno_unsupported(int errnum)
{
	return errnum == ENOENT || errnum == EOPNOTSUPP || errnum == ENODEV || errnum == ENXIO ||
	       errnum == ENOSYS;
}

int pmu_sys_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd, unsigned long flags)
{
	long fd = syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags);
	return fd < 0 ? -errno : (int)fd;
}

/*
 * perf_event_open with the attr bits an older kernel refuses dropped, found by
 * trying (as perf's evsel__detect_missing_features): a kernel's version says
 * little where distributions backport, and a refused open costs one syscall.
 */
static int open_compat(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd)
{
	int fd = pmu_sys_open(attr, pid, cpu, group_fd, PERF_FLAG_FD_CLOEXEC);
	if (fd == -EINVAL && attr->ksymbol) { /* Linux < 5.1 */
		attr->ksymbol = 0;
		fd = pmu_sys_open(attr, pid, cpu, group_fd, PERF_FLAG_FD_CLOEXEC);
	}
	if (fd == -EINVAL && attr->inherit && (attr->sample_type & PERF_SAMPLE_READ)) {
		/* Linux < 6.12 refuses the pair in perf_event_alloc(): follow no new threads. */
		attr->inherit = 0;
		fd = pmu_sys_open(attr, pid, cpu, group_fd, PERF_FLAG_FD_CLOEXEC);
	}
	return fd;
}

int pmu_open_counter(const struct pmu_ctx *ctx, struct pmu_event *ev,
		     struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd,
		     bool user_fallback, char *err, size_t errlen)
{
	int fd = open_compat(attr, pid, cpu, group_fd);
	/* Not for a tracepoint: it fires in the kernel, so user space alone counts nothing. */
	if (user_fallback && (fd == -EACCES || fd == -EPERM) && !ev->priv_explicit &&
	    !attr->exclude_kernel && attr->type != PERF_TYPE_TRACEPOINT) {
		attr->exclude_kernel = 1;
		attr->exclude_hv = 1;
		fd = open_compat(attr, pid, cpu, group_fd);
		if (fd >= 0) {
			ev->attr.exclude_kernel = ev->attr.exclude_hv = 1;
			size_t n = strlen(ev->name);
			if (!strchr(ev->name, ':') && n + 2 < sizeof(ev->name))
				memcpy(ev->name + n, ":u", 3);
		}
	}
	if (fd < 0)
		pmu_explain_open_error(ctx, ev, attr, -fd, pid, cpu, err, errlen);
	return fd;
}

/* A kernel.* sysctl's integer, or fallback when it cannot be read. */
static long read_sysctl(const char *name, long fallback)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	FILE *f = fopen(path, "re");
	long v = fallback;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = fallback;
		fclose(f);
	}
	return v;
}

int pmu_paranoid_level(void)
{
	return (int)read_sysctl("perf_event_paranoid", INT32_MIN);
}

int pmu_probe_event(uint32_t type, uint64_t config)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = type;
	attr.config = config;
	attr.disabled = 1;
	attr.exclude_kernel = 1; /* allowed under any paranoid level below 3 */
	attr.exclude_hv = 1;
	int fd = pmu_sys_open(&attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* pmu_events_keep_samplable's and _countable's trial: a sampling open, or a counting one. */
static size_t keep_openable(struct pmu_event_list *list, bool sampling, char *dropped, size_t len)
{
	size_t kept = 0, used = 0;
	if (len)
		dropped[0] = 0;
	for (size_t i = 0; i < list->n; i++) {
		struct pmu_event *ev = &list->ev[i];
		bool alone = (size_t)ev->leader == i && ev->group_size <= 1;
		struct perf_event_attr a = ev->attr;
		a.disabled = 1;
		a.exclude_kernel = a.exclude_hv = 1; /* allowed under any paranoid level below 3 */
		a.freq = 0;
		a.sample_period = sampling ? 1000003 : 0;
		int fd = alone ? pmu_sys_open(&a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC) : -EBADF;
		if (fd >= 0)
			close(fd);
		if (alone && fd < 0 && pmu_errno_unsupported(-fd)) {
			if (used < len)
				used += (size_t)snprintf(dropped + used, len - used, "%s%s",
							 used ? "," : "", ev->name);
			continue;
		}
		/* Only lone events go, so a group keeps its members right after its leader. */
		list->ev[kept] = *ev;
		list->ev[kept].leader = (int)kept - (int)(i - (size_t)ev->leader);
		kept++;
	}
	list->n = kept;
	return kept;
}

size_t pmu_events_keep_samplable(struct pmu_event_list *list, char *dropped, size_t len)
{
	return keep_openable(list, true, dropped, len);
}

size_t pmu_events_keep_countable(struct pmu_event_list *list, char *dropped, size_t len)
{
	return keep_openable(list, false, dropped, len);
}

bool pmu_host_has_hw_counters(void)
{
	int ret = pmu_probe_event(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES);
	/* Permission errors say nothing about the hardware: assume it is there. */
	return ret == 0 || ret == -EACCES || ret == -EPERM;
}

int pmu_host_max_precise(const struct pmu_ctx *ctx)
{
	const struct pmu_sysfs *core = pmu_sysfs_core(ctx);
	if (core && core->max_precise >= 0)
		return core->max_precise;
	/* AMD: the kernel serves precise cycles/uops through IBS when ibs_op exists. */
	if (pmu_sysfs_find(ctx, "ibs_op"))
		return 2;
	return 0;
}

/* --- CPU identity ----------------------------------------------------------- */

int pmu_cpu_parse(const char *spec, struct pmu_cpu *out, char *err, size_t errlen)
{
	struct pmu_cpu cpu = {0};
	const char *dash = strchr(spec, '-');
	char *end;
	if (!dash || dash == spec || (size_t)(dash - spec) >= sizeof(cpu.vendor))
		goto bad;
	snprintf(cpu.vendor, sizeof(cpu.vendor), "%.*s", (int)(dash - spec), spec);
	/* perf's spelling: family in decimal, model and stepping in hex. */
	unsigned long v = strtoul(dash + 1, &end, 10);
	if (end == dash + 1 || *end != '-' || v > 0xfff)
		goto bad;
	cpu.family = (unsigned)v;
	const char *m = end + 1;
	v = strtoul(m, &end, 16);
	if (end == m || (*end && *end != '-') || v > 0xff)
		goto bad;
	cpu.model = (unsigned)v;
	if (*end == '-') {
		const char *st = end + 1;
		v = strtoul(st, &end, 16);
		if (end == st || *end || v > 0xf)
			goto bad;
		cpu.stepping = (unsigned)v;
	}
	*out = cpu;
	return 0;
bad:
	return base_fail(err, errlen, -EINVAL,
			 "malformed CPU id '%s'; expected vendor-family-model[-stepping] with the "
			 "family in decimal and model/stepping in hex, e.g. AuthenticAMD-26-2 or "
			 "GenuineIntel-6-55-4",
			 spec);
}

/* "key\t: value" -> value, when the line's key is `key`. */
static const char *cpuinfo_value(const char *line, const char *key)
{
	size_t n = strlen(key);
	if (strncmp(line, key, n) != 0)
		return NULL;
	const char *p = line + n;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != ':')
		return NULL;
	p++;
	while (*p == ' ')
		p++;
	return p;
}

int pmu_cpu_from_cpuinfo(const char *path, struct pmu_cpu *out)
{
	memset(out, 0, sizeof(*out));
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		const char *v;
		if (line[0] == 0 && out->vendor[0])
			break; /* the first processor is enough: x86 hosts are uniform here */
		if ((v = cpuinfo_value(line, "vendor_id")) != NULL)
			snprintf(out->vendor, sizeof(out->vendor), "%s", v);
		else if ((v = cpuinfo_value(line, "cpu family")) != NULL)
			out->family = (unsigned)strtoul(v, NULL, 10);
		else if ((v = cpuinfo_value(line, "model")) != NULL)
			out->model = (unsigned)strtoul(v, NULL, 10);
		else if ((v = cpuinfo_value(line, "stepping")) != NULL)
			out->stepping = (unsigned)strtoul(v, NULL, 10);
	}
	fclose(f);
	return 0;
}

int pmu_cpu_detect(struct pmu_cpu *out, char *err, size_t errlen)
{
	const char *forced = getenv("PMUPROF_CPUID");
	if (forced && *forced) {
		int ret = pmu_cpu_parse(forced, out, err, errlen);
		if (ret < 0) {
			char why[BASE_ERR_MAX];
			snprintf(why, sizeof(why), "%s", err ? err : "");
			return base_fail(err, errlen, ret, "PMUPROF_CPUID: %s", why);
		}
		return 0;
	}
	/* Unreadable cpuinfo (or a non-x86 one) leaves the CPU unknown: presets say so. */
	pmu_cpu_from_cpuinfo("/proc/cpuinfo", out);
	return 0;
}

const struct pmu_cpu *pmu_ctx_cpu(const struct pmu_ctx *ctx)
{
	return &ctx->cpu;
}

void pmu_cpu_describe(const struct pmu_cpu *cpu, char *buf, size_t len)
{
	const struct pmu_preset_row *row = pmu_preset_match(cpu);
	if (!cpu->vendor[0]) {
		snprintf(buf, len, "an unidentified CPU (no x86 vendor_id in /proc/cpuinfo)");
		return;
	}
	snprintf(buf, len, "%s family %#x model %#04x stepping %u%s%s%s", cpu->vendor, cpu->family,
		 cpu->model, cpu->stepping, row ? " (" : "", row ? row->label : "", row ? ")" : "");
}

static bool is_hw_type(const struct pmu_ctx *ctx, uint32_t type)
{
	const struct pmu_sysfs *core = ctx ? pmu_sysfs_core(ctx) : NULL;
	return type == PERF_TYPE_HARDWARE || type == PERF_TYPE_HW_CACHE || type == PERF_TYPE_RAW ||
	       (core && type == core->type);
}

/* A process (its main thread) rather than one of its other threads: /proc/PID/status's Tgid. */
static bool is_thread_leader(pid_t pid)
{
	char path[48], line[128];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	long tgid = pid;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %ld", &tgid) == 1)
			break;
	if (f)
		fclose(f);
	return tgid == pid;
}

static void explain_event(const struct pmu_ctx *ctx, const struct pmu_event *ev,
			  const struct perf_event_attr *attr, int errnum, pid_t pid, int cpu,
			  char *err, size_t errlen);

void pmu_explain_open_error(const struct pmu_ctx *ctx, const struct pmu_event *ev,
			    const struct perf_event_attr *attr, int errnum, pid_t pid, int cpu,
			    char *err, size_t errlen)
{
	if (!ev->preset[0]) {
		explain_event(ctx, ev, attr, errnum, pid, cpu, err, errlen);
		return;
	}
	/* The user typed the preset, not its expansion: name it first. */
	char why[BASE_ERR_MAX];
	explain_event(ctx, ev, attr, errnum, pid, cpu, why, sizeof(why));
	snprintf(err, errlen, "-e %s cannot be used here: %s", ev->preset, why);
}

static void explain_event(const struct pmu_ctx *ctx, const struct pmu_event *ev,
			  const struct perf_event_attr *attr, int errnum, pid_t pid, int cpu,
			  char *err, size_t errlen)
{
	const char *name = ev->name;
	/* What "cannot open ..." names: the event, or a watchpoint by its address. */
	char subject[PMU_NAME_MAX + 64];
	if (attr->type == PERF_TYPE_BREAKPOINT)
		snprintf(subject, sizeof(subject), "a hardware watchpoint on %#llx ('%s')",
			 (unsigned long long)attr->bp_addr, name);
	else
		snprintf(subject, sizeof(subject), "event '%s'", name);
	int paranoid = pmu_paranoid_level();
	bool hw = is_hw_type(ctx, attr->type);
	bool has_core = ctx && pmu_sysfs_core(ctx) != NULL;

	struct stat owner;
	char proc[32];
	snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
	if ((errnum == EACCES || errnum == EPERM) && pid > 0 && geteuid() != 0 &&
	    stat(proc, &owner) == 0 && owner.st_uid != geteuid()) {
		/*
		 * Another user's task: the kernel asks for ptrace access to it
		 * (PTRACE_MODE_READ) whatever perf_event_paranoid says.
		 */
		snprintf(err, errlen,
			 "cannot profile %s %d: it belongs to another user (uid %u) and reading its "
			 "events needs ptrace access to it; run as root, or with CAP_PERFMON and "
			 "CAP_SYS_PTRACE",
			 is_thread_leader(pid) ? "process" : "thread", (int)pid,
			 (unsigned)owner.st_uid);
		return;
	}
	if ((errnum == EACCES || errnum == EPERM) && attr->type == PERF_TYPE_TRACEPOINT) {
		/* The kernel's rules: a hit is kernel code, and its payload kernel data. */
		bool raw = attr->sample_type & PERF_SAMPLE_RAW;
		int need = raw ? -1 : pid == -1 ? 0 : 1;
		const char *why = "counting a tracepoint (it fires in kernel code)";
		if (raw)
			why = "sampling a tracepoint (its payload is kernel data)";
		else if (pid == -1)
			why = "system-wide counting";
		snprintf(err, errlen,
			 "cannot open %s: permission denied: %s needs kernel.perf_event_paranoid<=%d "
			 "(it is %d); run as root or with CAP_PERFMON, or: sudo sysctl -w "
			 "kernel.perf_event_paranoid=%d",
			 subject, why, need, paranoid, need);
		return;
	}
	if (errnum == EACCES || errnum == EPERM) {
		/* Which paranoid level would allow this: -1 for cpu-wide with kernel, ... */
		int need = pid == -1 ? 0 : !attr->exclude_kernel ? 1 : 2;
		if (paranoid >= 3)
			need = need < 2 ? need : 2;
		const char *why = pid == -1 ? "system-wide or per-CPU counting"
				  : !attr->exclude_kernel ? "counting kernel code"
							  : "counting";
		snprintf(err, errlen,
			 "cannot open %s: permission denied: %s needs "
			 "kernel.perf_event_paranoid<=%d (it is %d); run as root or with "
			 "CAP_PERFMON, "
			 "or: sudo sysctl -w kernel.perf_event_paranoid=%d%s",
			 subject, why, need, paranoid, need,
			 pid != -1 && !attr->exclude_kernel ? " (or count user space only with :u)"
							    : "");
		return;
	}
	long max_rate = read_sysctl("perf_event_max_sample_rate", -1);
	if (errnum == EINVAL && attr->freq && max_rate > 0 && attr->sample_freq > (uint64_t)max_rate) {
		snprintf(err, errlen,
			 "event '%s': a sampling frequency of %llu Hz is above "
			 "kernel.perf_event_max_sample_rate (%ld); use -F %ld or less, or raise it: "
			 "sudo sysctl -w kernel.perf_event_max_sample_rate=%llu",
			 name, (unsigned long long)attr->sample_freq, max_rate, max_rate,
			 (unsigned long long)attr->sample_freq);
		return;
	}
	if (attr->precise_ip > 0 &&
	    (errnum == EOPNOTSUPP || errnum == EINVAL || errnum == ENOENT) && has_core) {
		snprintf(err, errlen,
			 "event '%s' asks for precise sampling (precise_ip=%u) but this host has no "
			 "PEBS (Intel) or IBS (AMD) support (max_precise=%d%s); drop the 'p' "
			 "modifiers",
			 name, attr->precise_ip, pmu_host_max_precise(ctx),
			 pmu_sysfs_find(ctx, "ibs_op") ? "" : ", no ibs_op PMU");
		return;
	}
	if (hw && ctx && !has_core &&
	    (errnum == ENOENT || errnum == EOPNOTSUPP || errnum == ENODEV)) {
		snprintf(err, errlen,
			 "event '%s' is not supported: this host exposes no hardware PMU (no cpu PMU "
			 "under /sys/bus/event_source/devices; typical of a VM without a virtual "
			 "PMU); use software events such as cpu-clock or task-clock",
			 name);
		return;
	}
	if (attr->type == PERF_TYPE_BREAKPOINT &&
	    (errnum == ENOENT || errnum == EOPNOTSUPP || errnum == EINVAL)) {
		snprintf(err, errlen,
			 "cannot open %s: %s; this kernel or CPU has no hardware breakpoints, or "
			 "none for an aligned 8-byte user-space word there",
			 subject, strerror(errnum));
		return;
	}
	if (errnum == EOPNOTSUPP && (attr->sample_period || attr->freq)) {
		snprintf(err, errlen,
			 "event '%s' cannot be sampled on this host (its PMU has no sampling "
			 "interrupt); count it with 'pmuprof stat' or sample another event",
			 name);
		return;
	}
	switch (errnum) {
	case ENOENT:
	case EOPNOTSUPP:
		if (attr->type == PERF_TYPE_HW_CACHE)
			snprintf(err, errlen,
				 "cache event '%s' is not supported by this CPU (the kernel has no "
				 "mapping for it); run 'pmuprof list cache' for the ones it has",
				 name);
		else
			snprintf(err, errlen,
				 "event '%s' (type %u, config %#llx) is not supported on this host; "
				 "run 'pmuprof list' for the events it has",
				 name, attr->type, (unsigned long long)attr->config);
		return;
	case EINVAL:
		snprintf(err, errlen,
			 "the kernel rejected event '%s' (type %u, config %#llx, config1 %#llx): "
			 "invalid for this PMU; check the event code and terms against the CPU "
			 "vendor's manual or 'pmuprof list'",
			 name, attr->type, (unsigned long long)attr->config,
			 (unsigned long long)attr->config1);
		return;
	case ESRCH:
		snprintf(err, errlen, "cannot attach %s: process %d does not exist", subject,
			 (int)pid);
		return;
	case ENODEV:
		snprintf(err, errlen,
			 "cannot open %s on CPU %d: the CPU is offline or the PMU does not "
			 "cover it; choose online CPUs with -C",
			 subject, cpu);
		return;
	case EMFILE:
	case ENFILE:
		snprintf(err, errlen,
			 "cannot open %s: too many open files (one per event and CPU); "
			 "raise the limit with 'ulimit -n 65536' or count fewer events/CPUs",
			 subject);
		return;
	case EBUSY:
		snprintf(err, errlen,
			 "cannot open %s: the counter is in use by another exclusive user "
			 "(e.g. the NMI watchdog: sudo sysctl -w kernel.nmi_watchdog=0)",
			 subject);
		return;
	case ENOSPC:
		if (attr->type == PERF_TYPE_BREAKPOINT) {
			snprintf(err, errlen,
				 "cannot open %s: no free debug register for task %d on CPU %d "
				 "(a few per CPU, shared with debuggers); detach any debugger, or "
				 "watch fewer words at once",
				 subject, (int)pid, cpu);
			return;
		}
		snprintf(err, errlen,
			 "cannot open event '%s': not enough hardware counters for its group "
			 "(or too many breakpoints); split the group or count fewer events",
			 name);
		return;
	default:
		snprintf(err, errlen, "cannot open %s: %s", subject, strerror(errnum));
	}
}

/* A CPU list's numbers as a plain array of their own, for the callers that keep one. */
static int cpus_array(struct pmu_cpus *c, int **cpus, int *ncpus, char *err, size_t errlen)
{
	int *v = malloc((size_t)c->n * sizeof(int));
	if (v) {
		memcpy(v, c->cpu, (size_t)c->n * sizeof(int));
		*cpus = v;
		*ncpus = c->n;
	}
	pmu_cpus_free(c);
	return v ? 0 : base_fail(err, errlen, -ENOMEM, "out of memory");
}

int pmu_online_cpus(int **cpus, int *ncpus, char *err, size_t errlen)
{
	struct pmu_cpus *c;
	int ret = pmu_cpus_online(&c, err, errlen);
	return ret < 0 ? ret : cpus_array(c, cpus, ncpus, err, errlen);
}
