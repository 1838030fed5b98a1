/* hvm-oci without a VM: runc's command line, config.json, state records, file binds. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <time.h>

#include "../../agent/hook.h"
#include "../../include/hvm.h"
#include "../../tools/oci_cli.h"
#include "../../tools/oci_files.h"
#include "../../tools/oci_log.h"
#include "../../tools/oci_settings.h"
#include "../../tools/oci_spec.h"
#include "../../tools/oci_state.h"
#include "../harness.h"

#define ARGV(...) ((char *[]){ "hvm-oci", __VA_ARGS__, NULL })

static int parse(struct oci_cli *c, char **argv, char *err)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return oci_cli_parse(c, argc, argv, err, 256);
}

static void cli_create_like_conmon(void)
{
	struct oci_cli c;
	char err[256];

	CHECK_EQ(parse(&c, ARGV("--systemd-cgroup", "--root=/run/x", "--log", "/l.json",
				"--log-format=json", "create", "--bundle", "/b", "--pid-file=/p",
				"--console-socket", "/s", "--no-new-keyring", "c1"), err), 0);
	CHECK_EQ(c.verb, OCI_CREATE);
	CHECK_STR(c.root, "/run/x");
	CHECK_STR(c.log, "/l.json");
	CHECK_EQ(c.log_json, 1);
	CHECK_STR(c.bundle, "/b");
	CHECK_STR(c.pid_file, "/p");
	CHECK_STR(c.console_socket, "/s");
	CHECK_STR(c.id, "c1");
	CHECK_EQ(parse(&c, ARGV("create", "-b", "/b2", "c2"), err), 0);
	CHECK_STR(c.bundle, "/b2");
	CHECK_STR(c.root, OCI_DEFAULT_ROOT);
}

/* The jail's global flags: on unless --no-jail, ids 65534 unless --uid/--gid. */
static void cli_jail_flags(void)
{
	struct oci_cli c;
	char err[256];

	CHECK_EQ(parse(&c, ARGV("create", "c1"), err), 0);
	CHECK_EQ(c.no_jail, 0);
	CHECK_EQ(c.jail_uid, HVM_JAIL_DEFAULT_ID);
	CHECK_EQ(c.jail_gid, HVM_JAIL_DEFAULT_ID);
	CHECK_EQ(parse(&c, ARGV("--no-jail", "--uid=1000", "--gid", "100", "create", "c1"), err), 0);
	CHECK_EQ(c.no_jail, 1);
	CHECK_EQ(c.jail_uid, 1000);
	CHECK_EQ(c.jail_gid, 100);
	CHECK_EQ(parse(&c, ARGV("--uid", "-5", "create", "c1"), err), -EINVAL);
	CHECK(strstr(err, "--uid") != NULL);
}

static void cli_kill_signals(void)
{
	struct oci_cli c;
	char err[256];

	CHECK_EQ(parse(&c, ARGV("kill", "c1", "KILL"), err), 0);
	CHECK_EQ(c.signal, SIGKILL);
	CHECK_EQ(parse(&c, ARGV("kill", "--all", "c1", "SIGUSR1"), err), 0);
	CHECK_EQ(c.signal, SIGUSR1);
	CHECK_EQ(c.all, 1);
	CHECK_EQ(parse(&c, ARGV("kill", "c1", "9"), err), 0);
	CHECK_EQ(c.signal, 9);
	CHECK_EQ(parse(&c, ARGV("kill", "c1"), err), 0);
	CHECK_EQ(c.signal, SIGTERM);
	CHECK_EQ(oci_signal_parse("term"), SIGTERM);
	CHECK_EQ(oci_signal_parse("SIGHUP"), SIGHUP);
	CHECK_EQ(parse(&c, ARGV("kill", "c1", "NOPE"), err), -EINVAL);
	CHECK_STR(err, "invalid signal: NOPE");
	CHECK_EQ(oci_signal_parse("0"), -EINVAL);
	CHECK_EQ(oci_signal_parse("65"), -EINVAL);
}

static void cli_exec_and_errors(void)
{
	/* c.args points into it: named, so it outlives the CHECK that parses it. */
	char **exec_argv = ARGV("exec", "-t", "-e", "A=1", "--env=B=2", "--cwd", "/tmp", "c1",
				"ls", "-l");
	struct oci_cli c;
	char err[256];

	CHECK_EQ(parse(&c, ARGV("exec", "--process", "/p.json", "--detach", "--pid-file", "/x",
				"c1"), err), 0);
	CHECK_STR(c.process, "/p.json");
	CHECK_EQ(c.detach, 1);
	CHECK_EQ(c.nargs, 0);
	CHECK_EQ(parse(&c, exec_argv, err), 0);
	CHECK_EQ(c.tty, 1);
	CHECK_EQ(c.nenv, 2);
	CHECK_STR(c.env[1], "B=2");
	CHECK_EQ(c.nargs, 2);
	CHECK_STR(c.args[1], "-l");	/* the command's own flags are left alone */
	CHECK_EQ(parse(&c, ARGV("exec", "c1"), err), -EINVAL);
	CHECK_EQ(parse(&c, ARGV("delete", "--force=true", "c1"), err), 0);
	CHECK_EQ(c.force, 1);
	CHECK_EQ(parse(&c, ARGV("create", "--bogus", "c1"), err), -EINVAL);
	CHECK_STR(err, "flag provided but not defined: --bogus");
	CHECK_EQ(parse(&c, ARGV("start"), err), -EINVAL);
	CHECK_STR(err, "\"start\" requires a container id");
	CHECK_EQ(parse(&c, ARGV("--log-format", "xml", "state", "c1"), err), -EINVAL);
	CHECK_EQ(parse(&c, ARGV("frobnicate"), err), -EINVAL);
	CHECK_EQ(parse(&c, ARGV("--version"), err), 0);
	CHECK_EQ(c.version, 1);
}

static const char config[] =
	"{\"ociVersion\":\"1.0.2\",\"process\":{\"terminal\":true,\"consoleSize\":{\"height\":30,"
	"\"width\":100},\"user\":{\"uid\":1000,\"gid\":100},\"args\":[\"sh\",\"-c\",\"echo hi\"],"
	"\"env\":[\"PATH=/bin\",\"A=b c\"],\"cwd\":\"/data\"},"
	"\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"hostname\":\"h1\","
	"\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
	"{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/x/hosts\",\"options\":[\"rbind\",\"ro\"]},"
	"{\"destination\":\"/etc/resolv.conf\",\"source\":\"/x/r\",\"options\":[\"bind\"]}],"
	"\"annotations\":{\"k\":\"v\"},"
	"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/proc/self/ns/net\"}],"
	"\"resources\":{\"memory\":{\"limit\":268435457},\"cpu\":{\"quota\":150000,\"period\":100000}}}}";

static void spec_full(void)
{
	struct oci_spec s;
	char err[256];

	CHECK_EQ(oci_spec_parse(config, "/bundle", &s, err, sizeof(err)), 0);
	CHECK_STR(s.process.args[2], "echo hi");
	CHECK(s.process.args[3] == NULL);
	CHECK_STR(s.process.env[1], "A=b c");
	CHECK_STR(s.process.cwd, "/data");
	CHECK_EQ(s.process.uid, 1000);
	CHECK_EQ(s.process.gid, 100);
	CHECK_EQ(s.process.terminal, 1);
	CHECK_EQ(s.process.rows, 30);
	CHECK_EQ(s.process.cols, 100);
	CHECK_STR(s.root, "/bundle/rootfs");
	CHECK_EQ(s.root_read_only, 1);
	CHECK_STR(s.hostname, "h1");
	CHECK_EQ(s.nmounts, 3);
	CHECK_EQ(s.mounts[0].bind, 0);
	CHECK_EQ(s.mounts[1].bind, 1);
	CHECK_EQ(s.mounts[1].read_only, 1);
	CHECK_EQ(s.mounts[2].bind, 1);	/* no type, "bind" in the options */
	CHECK_EQ(s.mem_mib, 224);	/* whole MiB, less the VMM's 32 MiB: both fit the cgroup */
	CHECK_EQ(s.cpus, 2);		/* 1.5 CPUs of quota: 2 vCPUs */
	CHECK_STR(s.netns, "/proc/self/ns/net");
	CHECK_STR(s.annotations, "{\"k\":\"v\"}");
	oci_spec_free(&s);
}

static void spec_limits_and_errors(void)
{
	struct oci_spec s;
	char err[256];

	CHECK_EQ(oci_spec_parse("{\"process\":{\"args\":[\"true\"]},\"root\":{\"path\":\"/abs\"},"
				"\"linux\":{\"resources\":{\"memory\":{\"limit\":1048576},"
				"\"cpu\":{\"cpus\":\"0-3,6\"}}}}", "/b", &s, err, sizeof(err)), 0);
	CHECK_STR(s.root, "/abs");
	CHECK_EQ(s.mem_mib, HVM_MEMORY_MIB_MIN);
	CHECK_EQ(s.cpus, 5);
	oci_spec_free(&s);
	/* limits past any machine: clamped in range (the library refuses the memory by name) */
	CHECK_EQ(oci_spec_parse("{\"process\":{\"args\":[\"true\"]},\"root\":{\"path\":\"/abs\"},"
				"\"linux\":{\"resources\":{\"memory\":{\"limit\":1e30},"
				"\"cpu\":{\"cpus\":\"0-4294967295\"}}}}", "/b", &s, err, sizeof(err)), 0);
	CHECK_EQ(s.mem_mib, UINT32_MAX);
	CHECK_EQ(s.cpus, HVM_CPUS_MAX);
	oci_spec_free(&s);
	CHECK_EQ(oci_spec_parse("{\"process\":{\"args\":[\"true\"]},\"root\":{\"path\":\"/abs\"},"
				"\"linux\":{\"resources\":{\"cpu\":{\"quota\":1e30,\"period\":1}}}}",
				"/b", &s, err, sizeof(err)), 0);
	CHECK_EQ(s.cpus, HVM_CPUS_MAX);
	CHECK(s.netns == NULL);
	CHECK_STR(s.annotations, "{}");
	CHECK_STR(s.process.cwd == NULL ? "none" : s.process.cwd, "none");
	oci_spec_free(&s);
	CHECK_EQ(oci_spec_parse("{\"process\":{\"args\":[]},\"root\":{\"path\":\"r\"}}", "/b", &s,
				err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "process.args: must not be empty");
	CHECK_EQ(oci_spec_parse("{\"process\":{\"args\":[\"x\"]}}", "/b", &s, err, sizeof(err)),
		 -EINVAL);
	CHECK_STR(err, "root.path: missing in config.json");
	CHECK_EQ(oci_spec_parse("{\"process\":{\"args\":[1]},\"root\":{\"path\":\"r\"}}", "/b", &s,
				err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "process.args must be an array of strings");
	CHECK_EQ(oci_spec_parse("{nope", "/b", &s, err, sizeof(err)), -EINVAL);
}

/* A valid config with one member spliced in: "{BASE,MEMBER}" (MEMBER may hold a process). */
#define WITH(member) "{\"root\":{\"path\":\"r\"}," member "}"
#define PROC(member) WITH("\"process\":{\"args\":[\"true\"]," member "}")

/* runc's refusals at create: each invalid config is -EINVAL and the line names the field. */
static void spec_validation(void)
{
	static const struct {
		const char *json, *err;
	} cases[] = {
		{ PROC("\"rlimits\":[{\"type\":\"RLIMIT_TEST\",\"soft\":1,\"hard\":1}]"),
		  "process.rlimits: unknown rlimit type RLIMIT_TEST" },
		{ PROC("\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":9,\"hard\":8}]"),
		  "process.rlimits: RLIMIT_NOFILE soft limit 9 is above the hard limit 8" },
		{ PROC("\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":1,\"hard\":1},"
		       "{\"type\":\"RLIMIT_CORE\",\"soft\":1,\"hard\":1}]"),
		  "process.rlimits: RLIMIT_CORE given twice" },
		{ PROC("\"capabilities\":{\"bounding\":[\"CAP_CHOWN\"],\"ambient\":[\"CAP_TEST\"]}"),
		  "process.capabilities.ambient: unknown capability CAP_TEST" },
		{ PROC("\"capabilities\":{\"effective\":[\"CAP_TEST\"]}"),
		  "process.capabilities.effective: unknown capability CAP_TEST" },
		{ PROC("\"capabilities\":{\"inheritable\":[\"chown\"]}"),
		  "process.capabilities.inheritable: unknown capability chown" },
		{ PROC("\"capabilities\":{\"permitted\":[\"CAP_TEST\"]}"),
		  "process.capabilities.permitted: unknown capability CAP_TEST" },
		{ PROC("\"capabilities\":{\"bounding\":[\"CAP_TEST\"]}"),
		  "process.capabilities.bounding: unknown capability CAP_TEST" },
		{ PROC("\"user\":{}},\"linux\":{\"namespaces\":[{\"type\":\"ipc\",\"path\":"
		       "\"/proc/self/ns/mnt\"}]"),
		  "linux.namespaces: ipc path /proc/self/ns/mnt is a mount namespace, not ipc" },
		{ PROC("\"user\":{}},\"linux\":{\"namespaces\":[{\"type\":\"uts\",\"path\":"
		       "\"/nonexistent/ns\"}]"),
		  "linux.namespaces: uts path /nonexistent/ns: No such file or directory" },
		{ PROC("\"user\":{}},\"linux\":{\"namespaces\":[{\"type\":\"net\"}]"),
		  "linux.namespaces: unknown namespace type net" },
		{ PROC("\"user\":{}},\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]"),
		  "linux.namespaces: pid given twice" },
		{ PROC("\"user\":{}},\"mounts\":[{\"destination\":\"/t\",\"type\":\"tmpfs\","
		       "\"options\":[\"nosuid\",\"bogus\"]}]"),
		  "mounts[0].options: invalid mount option bogus for /t" },
		{ PROC("\"user\":{}},\"mounts\":[{\"destination\":\"t\"}]"),
		  "mounts[0].destination: must be an absolute path" },
		{ PROC("\"user\":{}},\"linux\":{\"cgroupsPath\":\"rel/path\"}"),
		  "linux.cgroupsPath: rel/path is relative; it must be absolute, or slice:prefix:name "
		  "with --systemd-cgroup" },
		{ PROC("\"user\":{}},\"hooks\":{\"prestart\":[{\"path\":\"true\"}]}"),
		  "hooks.prestart[0].path: must be an absolute path" },
		{ PROC("\"user\":{}},\"hooks\":{\"poststop\":[{\"path\":\"/t\",\"timeout\":0}]}"),
		  "hooks.poststop[0].timeout: must be a positive number of seconds" },
		{ PROC("\"user\":{}},\"linux\":{\"uidMappings\":[{\"containerID\":0,"
		       "\"hostID\":1000,\"size\":1}]}"),
		  "linux.uidMappings: mappings need a user namespace in linux.namespaces" },
		{ PROC("\"user\":{}},\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"q\"}]}"),
		  "linux.devices[0].type: q: must be c, b, u or p" },
		{ PROC("\"user\":{}},\"linux\":{\"devices\":[{\"path\":\"dev/x\",\"type\":\"c\"}]}"),
		  "linux.devices[0].path: must be an absolute path without .." },
		{ PROC("\"user\":{}},\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"b\","
		       "\"major\":8}]}"),
		  "linux.devices[0] /dev/x: major (0-4095) and minor (0-1048575) are required for "
		  "type b" },
		{ PROC("\"user\":{}},\"linux\":{\"devices\":[{\"path\":\"/dev/p\",\"type\":\"p\","
		       "\"fileMode\":4096}]}"),
		  "linux.devices[0].fileMode: must be permission bits (0-07777)" },
		{ PROC("\"user\":{}},\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
		       "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":0}]}"),
		  "linux.gidMappings[0]: containerID, hostID and size must be 32-bit numbers, size "
		  "at least 1" },
		{ PROC("\"user\":{}},\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
		       "\"uidMappings\":[{\"containerID\":0,\"hostID\":-5,\"size\":1}]}"),
		  "linux.uidMappings[0]: containerID, hostID and size must be 32-bit numbers, size "
		  "at least 1" },
		{ PROC("\"user\":{}},\"linux\":{\"rootfsPropagation\":\"rsideways\"}"),
		  "linux.rootfsPropagation: rsideways: not one of private, slave, shared, "
		  "unbindable (or r- before each)" },
		{ PROC("\"user\":{}},\"linux\":{\"rootfsPropagation\":1}"),
		  "linux.rootfsPropagation: not a string: not one of private, slave, shared, "
		  "unbindable (or r- before each)" },
		{ WITH("\"process\":{\"cwd\":\"/\"}"), "process.args: must not be empty" },
		/* numbers runc reads as uint32 are refused out of range, never wrapped */
		{ PROC("\"user\":{\"uid\":-1}"),
		  "process.user.uid: must be an integer from 0 to 4294967295" },
		{ PROC("\"user\":{\"uid\":0,\"gid\":4294967296}"),
		  "process.user.gid: must be an integer from 0 to 4294967295" },
		{ PROC("\"consoleSize\":{\"height\":2.5,\"width\":80}"),
		  "process.consoleSize.height: must be an integer from 0 to 4294967295" },
		/* a quoted string stays on one line */
		{ PROC("\"user\":{}},\"mounts\":[{\"destination\":\"/t\",\"type\":\"tmpfs\","
		       "\"options\":[\"a\\nb\"]}]"),
		  "mounts[0].options: invalid mount option a?b for /t" },
		{ "{\"process\":{\"args\":[\"x\"]}}", "root.path: missing in config.json" },
	};
	struct oci_spec s;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		CHECK_EQ(oci_spec_parse(cases[i].json, "/b", &s, err, sizeof(err)), -EINVAL);
		CHECK_STR(err, cases[i].err);
	}
	/* the valid neighbours of the refusals */
	CHECK_EQ(oci_spec_parse(PROC("\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":8,"
				     "\"hard\":9}],\"capabilities\":{\"bounding\":[\"CAP_BPF\"]}},"
				     "\"mounts\":[{\"destination\":\"/t\",\"options\":[\"size=1m\","
				     "\"rnoexec\"]}],\"linux\":{\"cgroupsPath\":\"system.slice:hvm:c1\","
				     "\"namespaces\":[{\"type\":\"ipc\",\"path\":\"/proc/self/ns/ipc\"}],"
				     "\"devices\":[{\"path\":\"/dev/f\",\"type\":\"p\"},{\"path\":"
				     "\"/dev/n\",\"type\":\"c\",\"major\":1,\"minor\":3,"
				     "\"fileMode\":438,\"uid\":0,\"gid\":0}],"
				     "\"rootfsPropagation\":\"runbindable\""),
				"/b", &s, err, sizeof(err)), 0);
	oci_spec_free(&s);
}

/* hook_run: args and env exactly, state on stdin, exit status, exec failure, timeout. */
static void hooks_run_one(void)
{
	char dir[] = "/tmp/hvm-hook-XXXXXX", json[1024], why[256], *text;
	struct timespec t0, t1;
	cJSON *h;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(json, sizeof(json), "{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"cat >%s/in;"
		 " echo \\\"$0|$1|$X|${HOME-none}\\\" >%s/out\",\"zero\",\"one\"],\"env\":[\"X=y z\"]}",
		 dir, dir);
	h = cJSON_Parse(json);
	CHECK_EQ(hook_run(h, "prestart", 0, "{\"id\":\"c1\"}", -1, why, sizeof(why)), 0);
	cJSON_Delete(h);
	snprintf(json, sizeof(json), "%s/in", dir);
	text = oci_read_file(json);
	CHECK_STR(text, "{\"id\":\"c1\"}");
	free(text);
	snprintf(json, sizeof(json), "%s/out", dir);
	text = oci_read_file(json);
	CHECK_STR(text, "zero|one|y z|none\n");
	free(text);
	h = cJSON_Parse("{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"exit 3\"]}");
	CHECK_EQ(hook_run(h, "poststop", 2, "", -1, why, sizeof(why)), -EIO);
	CHECK_STR(why, "hooks.poststop[2] /bin/sh: exit status 3");
	cJSON_Delete(h);
	h = cJSON_Parse("{\"path\":\"/nonexistent/hook\"}");
	CHECK_EQ(hook_run(h, "prestart", 0, "", -1, why, sizeof(why)), -EIO);
	CHECK_STR(why, "hooks.prestart[0] /nonexistent/hook: No such file or directory");
	cJSON_Delete(h);
	h = cJSON_Parse("{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"sleep 20\"],\"timeout\":1}");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ(hook_run(h, "createRuntime", 0, "", -1, why, sizeof(why)), -EIO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_STR(why, "hooks.createRuntime[0] /bin/sh: timed out after 1 s");
	CHECK(t1.tv_sec - t0.tv_sec < 5);
	cJSON_Delete(h);
	snprintf(json, sizeof(json), "rm -rf %s", dir);
	CHECK_EQ(system(json), 0);
}

static void process_json(void)
{
	struct oci_process p;
	char err[256];

	CHECK_EQ(oci_process_parse("{\"args\":[\"sh\",\"-c\",\"echo exec-ok\"],\"env\":[\"PATH=/bin\"],"
				   "\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0}}", &p, err,
				   sizeof(err)), 0);
	CHECK_STR(p.args[0], "sh");
	CHECK_STR(p.env[0], "PATH=/bin");
	CHECK_EQ(p.terminal, 0);
	oci_process_free(&p);
}

static char *tmpdir(void)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "/tmp/hvm-oci-test.XXXXXX");
	return mkdtemp(buf);
}

static void state_round_trip(void)
{
	struct oci_state st = { .id = "c1", .pid = getpid(), .bundle = "/b",
				.annotations = "{\"a\":\"1\"}", .status = "created",
				.created = "2026-01-01T00:00:00.000000000Z" }, back;
	char *dir = tmpdir(), path[128], buf[128], *json;

	CHECK(dir != NULL);
	st.pid_start = oci_pid_start(st.pid);
	CHECK(st.pid_start > 0);
	CHECK_EQ(oci_state_write(dir, &st), 0);
	CHECK_EQ(oci_state_read(dir, &back), 0);
	CHECK_STR(back.id, "c1");
	CHECK_EQ(back.pid, getpid());
	CHECK_EQ(back.pid_start, st.pid_start);
	CHECK_STR(oci_state_status(&back), "created");
	free(back.status);
	back.status = strdup("running");
	CHECK_STR(oci_state_status(&back), "running");
	back.pid_start++;	/* the pid was reused by another process */
	CHECK_STR(oci_state_status(&back), "stopped");
	json = oci_state_json(&back, "running");
	CHECK(json && strstr(json, "\"ociVersion\":\t\"1.0.2\"") && strstr(json, "\"a\":\t\"1\""));
	free(json);
	oci_state_free(&back);
	snprintf(path, sizeof(path), "%s/%s", dir, OCI_STATE_FILE);
	unlink(path);
	CHECK_EQ(oci_state_read(dir, &back), -ENOENT);
	rmdir(dir);
	CHECK_EQ(oci_state_dir("/r", "..", buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(oci_state_dir("/r", "a/b", buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(oci_state_dir("/r", "ok", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/r/ok");
}

static void state_dead_and_zombie(void)
{
	struct oci_state st = { .id = "c", .bundle = "/b", .annotations = "{}", .status = "running" };
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	st.pid = pid;
	for (int i = 0; i < 500 && oci_pid_start(pid); i++)
		usleep(1000);
	CHECK_EQ(oci_pid_start(pid), 0);	/* a zombie is not alive */
	CHECK_STR(oci_state_status(&st), "stopped");
	waitpid(pid, NULL, 0);
	CHECK_STR(oci_state_status(&st), "stopped");
}

/* A recorded "paused" holds while the supervisor lives; once it is gone the container is
 * stopped, whatever the record says. */
static void state_paused(void)
{
	struct oci_state st = { .id = "c", .pid = getpid(), .bundle = "/b", .annotations = "{}",
				.status = "paused" }, back;
	char *dir = tmpdir(), path[128], *json;

	CHECK(dir != NULL);
	st.pid_start = oci_pid_start(st.pid);
	CHECK_EQ(oci_state_write(dir, &st), 0);
	CHECK_EQ(oci_state_read(dir, &back), 0);
	CHECK_STR(back.status, "paused");
	CHECK_STR(oci_state_status(&back), "paused");
	json = oci_state_json(&back, oci_state_status(&back));
	CHECK(json && strstr(json, "\"status\":\t\"paused\""));
	free(json);
	back.pid_start++;
	CHECK_STR(oci_state_status(&back), "stopped");
	oci_state_free(&back);
	CHECK_EQ(oci_state_parse("{\"id\":\"c\",\"pid\":1,\"bundle\":\"/b\",\"status\":\"paused\","
				 "\"hvmPidStart\":0}", &back), 0);
	CHECK_STR(back.status, "paused");
	CHECK_STR(oci_state_status(&back), "paused");	/* pid 1 lives; no start time to compare */
	oci_state_free(&back);
	snprintf(path, sizeof(path), "%s/%s", dir, OCI_STATE_FILE);
	unlink(path);
	rmdir(dir);
}

static void cli_pause_resume(void)
{
	struct oci_cli c;
	char err[256];

	CHECK_EQ(parse(&c, ARGV("--root", "/r", "pause", "c1"), err), 0);
	CHECK_EQ(c.verb, OCI_PAUSE);
	CHECK_STR(c.id, "c1");
	CHECK_EQ(parse(&c, ARGV("resume", "c1"), err), 0);
	CHECK_EQ(c.verb, OCI_RESUME);
	CHECK_EQ(parse(&c, ARGV("pause"), err), -EINVAL);
	CHECK_STR(err, "\"pause\" requires a container id");
	CHECK_EQ(parse(&c, ARGV("resume", "c1", "extra"), err), -EINVAL);
	CHECK_STR(err, "resume: unexpected argument: extra");
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

/* oci_settings_warn: one warning in --log per field a VM does not apply, none for an empty
 * one or for resources.devices (every engine sends it). */
static void settings_warnings(void)
{
	char path[] = "/tmp/hvm-warn-XXXXXX", *text;
	int fd = mkstemp(path);
	cJSON *doc = cJSON_Parse("{\"process\":{\"apparmorProfile\":\"p\"},\"linux\":{"
				 "\"resources\":{\"hugepageLimits\":[{\"pageSize\":\"2MB\","
				 "\"limit\":1}],\"rdma\":{},\"unified\":{\"memory.high\":\"1\"},"
				 "\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
				 "\"rootfsPropagation\":\"shared\"}}");

	CHECK(fd >= 0 && doc);
	close(fd);
	CHECK_EQ(oci_log_open(path, 0, 0), 0);
	oci_settings_warn(doc);
	CHECK_EQ(oci_log_open(NULL, 0, 0), 0);
	text = oci_read_file(path);
	CHECK(text && strstr(text, "process.apparmorProfile: not applied"));
	CHECK(text && strstr(text, "linux.resources.hugepageLimits: not applied: guest RAM"));
	CHECK(text && strstr(text, "linux.resources.unified: not applied"));
	CHECK(text && !strstr(text, "rdma") && !strstr(text, "devices"));
	CHECK(text && !strstr(text, "rootfsPropagation"));	/* applied in the guest now */
	free(text);
	cJSON_Delete(doc);
	unlink(path);
}

/* oci_settings_build: the kernel file systems the guest lacks go to the agent, in order; the
 * guest's own, binds and what a VM cannot have do not. */
static void settings_mounts(void)
{
	cJSON *doc = cJSON_Parse("{\"mounts\":["
		"{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
		"{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"},"
		"{\"destination\":\"/scratch\",\"type\":\"tmpfs\",\"options\":[\"size=1m\"]},"
		"{\"destination\":\"/b\",\"type\":\"tmpfs\",\"source\":\"/x\","
		"\"options\":[\"rbind\"]},"
		"{\"destination\":\"/o\",\"type\":\"overlay\",\"source\":\"overlay\"},"
		"{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\"},"
		"{\"destination\":\"/q\",\"type\":\"mqueue\",\"source\":\"mqueue\"}]}");
	char *text = oci_settings_build(doc);
	cJSON *out = cJSON_Parse(text), *m = cJSON_GetObjectItemCaseSensitive(out, "mounts");

	CHECK_EQ(cJSON_GetArraySize(m), 2);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "destination")),
		  "/scratch");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 1), "destination")),
		  "/q");
	CHECK_EQ(oci_files_guest_mounts("overlay", "/o"), 0);
	CHECK_EQ(oci_files_guest_mounts("tmpfs", "/dev/shm"), 1);
	CHECK_EQ(oci_files_guest_mounts("devtmpfs", "/elsewhere"), 1);
	CHECK_EQ(oci_files_guest_mounts("sysfs", "/s2"), 2);
	cJSON_Delete(out);
	free(text);
	cJSON_Delete(doc);
}

static void files_copied_inside_root(void)
{
	char *dir = tmpdir(), root[128], src[128], outside[128], p[192], *text;
	struct oci_mount m[3] = { 0 };
	struct oci_spec s = { .root = root, .mounts = m, .nmounts = 3 };

	snprintf(root, sizeof(root), "%s/rootfs", dir);
	snprintf(src, sizeof(src), "%s/hosts", dir);
	snprintf(outside, sizeof(outside), "%s/outside", dir);
	mkdir(root, 0755);
	write_file(src, "127.0.0.1 c1\n");
	write_file(outside, "precious\n");
	snprintf(p, sizeof(p), "%s/etc", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/etc/hosts", root);
	CHECK_EQ(symlink(outside, p), 0);	/* a hostile image points the target out */
	m[0] = (struct oci_mount){ .destination = "/etc/hosts", .source = src, .bind = 1 };
	m[1] = (struct oci_mount){ .destination = "/run/deep/.containerenv", .source = src, .bind = 1 };
	m[2] = (struct oci_mount){ .destination = "/proc", .source = "proc", .type = "proc" };
	CHECK_EQ(oci_files_copy(&s), 0);
	text = oci_read_file(p);
	CHECK_STR(text, "127.0.0.1 c1\n");
	free(text);
	text = oci_read_file(outside);
	CHECK_STR(text, "precious\n");
	free(text);
	snprintf(p, sizeof(p), "%s/run/deep/.containerenv", root);
	text = oci_read_file(p);
	CHECK_STR(text, "127.0.0.1 c1\n");
	free(text);
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	CHECK_EQ(system(p), 0);
}

HARNESS_MAIN(cli_create_like_conmon, cli_jail_flags, cli_kill_signals, cli_exec_and_errors,
	     cli_pause_resume, spec_full, spec_limits_and_errors, spec_validation, hooks_run_one, process_json, state_round_trip,
	     state_dead_and_zombie, state_paused, files_copied_inside_root, settings_warnings,
	     settings_mounts)
