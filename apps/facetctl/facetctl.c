/* SPDX-License-Identifier: MIT */
/*
 * facetctl: look at and drive a Facet plugin bus.
 *
 * The bus lives in this process: facetctl creates it, runs one command (or a
 * batch of them, -b) and destroys it. Batch mode is how state carries from
 * one command to the next.
 */
#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facetctl.h"

#define BATCH_MAX_ARGS 64

static int cmd_help(struct facetctl *ctl, int argc, char **argv);
static int cmd_echo(struct facetctl *ctl, int argc, char **argv);

static const struct facetctl_cmd commands[] = {
	{
		.name = "show",
		.args = "[DEV]",
		.help = "show the device tree (or DEV and its children)",
		.max_args = 1,
		.run = facetctl_cmd_show,
	},
	{
		.name = "drivers",
		.help = "list registered drivers and their plugins",
		.run = facetctl_cmd_drivers,
	},
	{
		.name = "plugins",
		.help = "list plugin files in the plugin path, loaded or not, and what they match",
		.run = facetctl_cmd_plugins,
	},
	{
		.name = "stats",
		.args = "[PORT]",
		.help = "Ethernet port and queue counters (all ports, or PORT)",
		.max_args = 1,
		.run = facetctl_cmd_stats,
	},
	{
		.name = "watch",
		.args = "[PORT] [-i SECONDS] [-c COUNT]",
		.help = "port rates (pps, Gbit/s) every SECONDS, COUNT times or until SIGINT",
		.max_args = 5,
		.run = facetctl_cmd_watch,
	},
	{
		.name = "add",
		.args = "NAME [KEY=VALUE...]",
		.help = "publish a root device, e.g. add exdev.core.0 ports=2",
		.min_args = 1,
		.max_args = -1,
		.run = facetctl_cmd_add,
	},
	{
		.name = "open",
		.args = "DEVICE",
		.help = "open a PCI device (0000:03:00.0 or vfio-user:/path.sock) and publish it",
		.min_args = 1,
		.max_args = 1,
		.run = facetctl_cmd_open,
	},
	{
		.name = "del",
		.args = "DEV",
		.help = "delete a device and its children",
		.min_args = 1,
		.max_args = 1,
		.run = facetctl_cmd_del,
	},
	{
		.name = "bind",
		.args = "DEV [DRV]",
		.help = "bind DEV to DRV, or to the first matching driver",
		.min_args = 1,
		.max_args = 2,
		.run = facetctl_cmd_bind,
	},
	{
		.name = "unbind",
		.args = "DEV",
		.help = "unbind DEV from its driver (its children go away)",
		.min_args = 1,
		.max_args = 1,
		.run = facetctl_cmd_unbind,
	},
	{
		.name = "rebind",
		.args = "DEV",
		.help = "unbind DEV if bound, then bind it by matching",
		.min_args = 1,
		.max_args = 1,
		.run = facetctl_cmd_rebind,
	},
	{
		.name = "override",
		.args = "DEV DRV|none",
		.help = "let only DRV bind DEV from now on (none: back to matching)",
		.min_args = 2,
		.max_args = 2,
		.run = facetctl_cmd_override,
	},
	{
		.name = "load",
		.args = "PLUGIN",
		.help = "load a plugin (file name in the plugin path, or a path)",
		.min_args = 1,
		.max_args = 1,
		.run = facetctl_cmd_load,
	},
	{
		.name = "unload",
		.args = "PLUGIN",
		.help = "unbind a plugin's devices and unload it",
		.min_args = 1,
		.max_args = 1,
		.run = facetctl_cmd_unload,
	},
	{
		.name = "echo",
		.args = "[TEXT...]",
		.help = "print TEXT (headings in batch scripts)",
		.max_args = -1,
		.run = cmd_echo,
	},
	{
		.name = "help",
		.help = "show this help",
		.run = cmd_help,
	},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

#define MAX_DEVICE_OPTS 8

static const char usage_line[] =
	"usage: facetctl [-j] [-P] [-e] [-v] [-p PATH] [-d DEVICE]... COMMAND [ARGS...]\n"
	"       facetctl [-j] [-P] [-e] [-v] [-p PATH] [-d DEVICE]... -b FILE|-\n";

/* -d DEVICE: open each before running the commands, as "open DEVICE" would. */
static int open_devices(struct facetctl *ctl, const char *const *devices, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		char *argv[] = { "open", (char *)devices[i], NULL };

		if (facetctl_cmd_open(ctl, 2, argv) < 0)
			return FACETCTL_EXIT_FAIL;
	}
	return FACETCTL_EXIT_OK;
}

static void print_help(FILE *out)
{
	fputs(usage_line, out);
	fputs("\noptions:\n"
	      "  -j, --json              JSON output\n"
	      "  -P, --pretty            indent JSON output\n"
	      "  -e, --events            print bus events as they happen\n"
	      "  -v, --verbose           print each batch command to stderr before running it\n"
	      "  -p, --plugin-path PATH  colon-separated plugin directories\n"
	      "                          (default: $" FACET_BUS_PLUGIN_PATH_ENV
	      ", else the built-in one)\n"
	      "  -d, --device DEVICE     open DEVICE first (PCI address or vfio-user:/path)\n"
	      "  -b, --batch FILE        run the commands in FILE (- for stdin) on one bus,\n"
	      "                          one per line; a word starting with '#' starts a\n"
	      "                          comment; a leading -j or -P gives that command\n"
	      "                          JSON output; the first failing command ends the run\n"
	      "  -h, --help              this help\n"
	      "\ncommands:\n",
	      out);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		char synopsis[64];

		snprintf(synopsis, sizeof(synopsis), "%s %s", commands[i].name,
			 commands[i].args ? commands[i].args : "");
		fprintf(out, "  %-28s %s\n", synopsis, commands[i].help);
	}
}

static int cmd_help(struct facetctl *ctl, int argc, char **argv)
{
	print_help(stdout);
	return 0;
}

static int cmd_echo(struct facetctl *ctl, int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		printf("%s%s", i > 1 ? " " : "", argv[i]);
	printf("\n");
	return 0;
}

int facetctl_errmsg(const char *cmd, const char *subject, int err, const char *msg)
{
	fflush(stdout);
	if (subject)
		fprintf(stderr, "facetctl: %s: %s: %s\n", cmd, subject, msg);
	else
		fprintf(stderr, "facetctl: %s: %s\n", cmd, msg);
	return err;
}

int facetctl_err(const char *cmd, const char *subject, int err)
{
	return facetctl_errmsg(cmd, subject, err, strerror(-err));
}

static const struct facetctl_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

/* Run one command line; returns 0, a negative errno or FACETCTL_EUSAGE. */
static int run_command(struct facetctl *ctl, int argc, char **argv)
{
	const struct facetctl_cmd *cmd = find_command(argv[0]);
	int n_args = argc - 1;

	if (!cmd) {
		fflush(stdout);
		fprintf(stderr, "facetctl: unknown command \"%s\" (see facetctl help)\n%s", argv[0],
			usage_line);
		return FACETCTL_EUSAGE;
	}
	if (n_args < cmd->min_args || (cmd->max_args >= 0 && n_args > cmd->max_args)) {
		fflush(stdout);
		fprintf(stderr, "facetctl: %s: wrong number of arguments\nusage: facetctl %s %s\n",
			cmd->name, cmd->name, cmd->args ? cmd->args : "");
		return FACETCTL_EUSAGE;
	}
	return cmd->run(ctl, argc, argv);
}

static int exit_code(int ret)
{
	if (ret == 0)
		return FACETCTL_EXIT_OK;
	return ret == FACETCTL_EUSAGE ? FACETCTL_EXIT_USAGE : FACETCTL_EXIT_FAIL;
}

/* Split @line into words at blanks, in place; a word starting with '#' ends the line. */
static int split_line(char *line, char **argv, int max)
{
	int argc = 0;

	for (char *word = strtok(line, " \t\r\n"); word; word = strtok(NULL, " \t\r\n")) {
		if (word[0] == '#')
			break;
		if (argc == max)
			return -E2BIG;
		argv[argc++] = word;
	}
	return argc;
}

/* Run the commands of @file ("-": stdin) until one fails. Returns an exit code. */
static int run_batch(struct facetctl *ctl, const char *file, bool verbose)
{
	bool from_stdin = strcmp(file, "-") == 0;
	const char *where = from_stdin ? "<stdin>" : file;
	FILE *f = from_stdin ? stdin : fopen(file, "r");
	char *argv[BATCH_MAX_ARGS], *line = NULL, *copy = NULL;
	unsigned int lineno = 0;
	size_t cap = 0;
	int ret = 0;

	if (!f) {
		fprintf(stderr, "facetctl: %s: %s\n", file, strerror(errno));
		return FACETCTL_EXIT_FAIL;
	}
	while (ret == 0 && getline(&line, &cap, f) >= 0) {
		bool json = ctl->json, pretty = ctl->pretty;
		int argc, first = 0;

		lineno++;
		free(copy);
		copy = strdup(line); /* for the error message; split_line() cuts @line */
		argc = split_line(line, argv, BATCH_MAX_ARGS);
		if (argc < 0) {
			fprintf(stderr, "facetctl: more than %d words\n", BATCH_MAX_ARGS);
			ret = FACETCTL_EUSAGE;
			break;
		}
		/* A leading -j (or -P) asks for JSON output of this command only. */
		for (; first < argc; first++) {
			if (strcmp(argv[first], "-j") == 0 || strcmp(argv[first], "--json") == 0)
				ctl->json = true;
			else if (strcmp(argv[first], "-P") == 0 ||
				 strcmp(argv[first], "--pretty") == 0)
				ctl->json = ctl->pretty = true;
			else
				break;
		}
		if (first < argc && verbose && strcmp(argv[first], "echo") != 0) {
			fflush(stdout);
			fprintf(stderr, "> %s", copy ? copy : argv[first]);
			if (copy && copy[0] && copy[strlen(copy) - 1] != '\n')
				fputc('\n', stderr);
		}
		if (first < argc)
			ret = run_command(ctl, argc - first, argv + first);
		ctl->json = json;
		ctl->pretty = pretty;
	}
	if (ret != 0) {
		char *nl = copy ? strchr(copy, '\n') : NULL;

		if (nl)
			*nl = '\0';
		fprintf(stderr, "facetctl: %s:%u: stopped at failing command: %s\n", where, lineno,
			copy ? copy : "");
	} else if (ferror(f)) {
		fprintf(stderr, "facetctl: %s: read error\n", where);
		ret = -EIO;
	}
	free(copy);
	free(line);
	if (!from_stdin)
		fclose(f);
	return exit_code(ret);
}

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'P' },
		{ "events", no_argument, NULL, 'e' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "plugin-path", required_argument, NULL, 'p' },
		{ "batch", required_argument, NULL, 'b' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct facet_bus_config config = { 0 };
	struct facetctl ctl = { 0 };
	const char *batch = NULL, *devices[MAX_DEVICE_OPTS];
	unsigned int n_devices = 0;
	bool events = false, verbose = false;
	int opt, ret;

	/* Events and errors interleave on a terminal or a pipe in the order they happen. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	setlocale(LC_CTYPE, "");
	ctl.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;

	/* '+': options end at the command, whose arguments are its own. */
	while ((opt = getopt_long(argc, argv, "+jPevp:b:d:h", long_options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			ctl.json = true;
			break;
		case 'P':
			ctl.json = ctl.pretty = true;
			break;
		case 'e':
			events = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'p':
			config.plugin_path = optarg;
			break;
		case 'b':
			batch = optarg;
			break;
		case 'd':
			if (n_devices == MAX_DEVICE_OPTS) {
				fprintf(stderr, "facetctl: at most %d -d options\n",
					MAX_DEVICE_OPTS);
				return FACETCTL_EXIT_USAGE;
			}
			devices[n_devices++] = optarg;
			break;
		case 'h':
			print_help(stdout);
			return FACETCTL_EXIT_OK;
		default:
			fputs(usage_line, stderr);
			return FACETCTL_EXIT_USAGE;
		}
	}
	if (!batch == (optind == argc)) {
		fprintf(stderr, "facetctl: %s\n%s",
			batch ? "give either -b or a command, not both" : "no command given",
			usage_line);
		return FACETCTL_EXIT_USAGE;
	}
	/* Reject a bad command before building a bus for it. */
	if (!batch && !find_command(argv[optind]))
		return exit_code(run_command(&ctl, argc - optind, argv + optind));

	ret = facet_bus_create(&config, &ctl.bus);
	if (ret < 0) {
		fprintf(stderr, "facetctl: cannot create the bus: %s\n", strerror(-ret));
		return FACETCTL_EXIT_FAIL;
	}
	if (events) {
		ret = facetctl_events_start(&ctl);
		if (ret < 0) {
			fprintf(stderr, "facetctl: cannot follow events: %s\n", strerror(-ret));
			facet_bus_destroy(ctl.bus);
			return FACETCTL_EXIT_FAIL;
		}
	}
	ret = open_devices(&ctl, devices, n_devices);
	if (ret == FACETCTL_EXIT_OK && batch)
		ret = run_batch(&ctl, batch, verbose);
	else if (ret == FACETCTL_EXIT_OK)
		ret = exit_code(run_command(&ctl, argc - optind, argv + optind));
	facetctl_bus_teardown(&ctl);
	facet_bus_destroy(ctl.bus);
	return ret;
}
