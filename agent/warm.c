/*
 * A template's boot reads what its commands will load into the guest's page cache before
 * the agent says it is ready, so that the template holds them: every run restored from it
 * then starts its shell or entrypoint from memory instead of from the virtio-blk disk.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

#define WARM_CHUNK    (256 * 1024)
#define WARM_FILE_MAX (256u << 20)	/* larger files are not worth their room in RAM */
#define WARM_PATH     "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Reads fd to its end (bounded); 0, or -1 on an error. */
static int warm_read_all(int fd)
{
	static char buf[WARM_CHUNK];
	size_t total = 0;
	ssize_t n;

	while (total < WARM_FILE_MAX && (n = read(fd, buf, sizeof(buf))) > 0)
		total += (size_t)n;
	return n < 0 ? -1 : 0;
}

/* The ELF interpreter named by the executable fd (reading from its start), or "". */
static void warm_interp(int fd, char *out, size_t cap)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	out[0] = '\0';
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(ph))
		return;
	for (unsigned i = 0; i < eh.e_phnum && i < 64; i++) {
		off_t at = (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph));
		if (pread(fd, &ph, sizeof(ph), at) != sizeof(ph))
			return;
		if (ph.p_type == PT_INTERP && ph.p_filesz > 1 && ph.p_filesz < cap) {
			ssize_t n = pread(fd, out, ph.p_filesz, (off_t)ph.p_offset);
			out[n == (ssize_t)ph.p_filesz ? ph.p_filesz - 1 : 0] = '\0';
			return;
		}
	}
}

/* Opens name as the shell would find a program: a path as is, a bare name along PATH. */
static int warm_open(const char *name)
{
	char path[512];

	if (strchr(name, '/'))
		return open(name, O_RDONLY | O_CLOEXEC);
	for (const char *dir = WARM_PATH; *dir;) {
		size_t len = strcspn(dir, ":");
		int fd;
		if ((size_t)snprintf(path, sizeof(path), "%.*s/%s", (int)len, dir, name) <
		    sizeof(path) && (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0)
			return fd;
		dir += len + (dir[len] == ':');
	}
	return -1;
}

/* Reads a program and its ELF interpreter; a missing one is fine (nothing to warm). */
static void warm_program(const char *name)
{
	char interp[256];
	struct stat st;
	int fd = warm_open(name);

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		warm_interp(fd, interp, sizeof(interp));
		warm_read_all(fd);
		if (interp[0] && (close(fd), fd = open(interp, O_RDONLY | O_CLOEXEC)) >= 0)
			warm_read_all(fd);
	}
	if (fd >= 0)
		close(fd);
}

/* Runs `/bin/sh -c :` once: it loads whatever the shell links, as a --cmd will. */
static void warm_shell(void)
{
	pid_t pid;
	int null;

	if (access("/bin/sh", X_OK) != 0 || (pid = fork()) < 0)
		return;
	if (pid == 0) {
		null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execl("/bin/sh", "sh", "-c", ":", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

void warm_page_cache(const struct boot_request *req)
{
	if (!req->nwarm)
		return;
	for (int i = 0; i < req->nwarm; i++)
		warm_program(req->warm[i]);
	warm_shell();
}
