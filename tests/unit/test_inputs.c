/*
 * inputs: iLogtail's service_go_profile keys are read as they are, defaults
 * match the plugin's, labels merge with the instance's winning, and every
 * mistake is refused with the file:line where it was made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/config.h"
#include "fetcher/inputs.h"

/* Parse text as "cfg.yaml"; on failure err holds the message. */
static int
parse(const char *text, struct inputs **out, char *err, size_t errlen)
{
	struct cfg *c;
	int rv;

	err[0] = '\0';
	if (cfg_parse(&c, "cfg.yaml", text, strlen(text), err, errlen) < 0)
		return -1;
	rv = inputs_from_cfg(out, c, err, errlen);
	cfg_free(c);
	return rv;
}

static void
expect_error(const char *text, const char *want)
{
	struct inputs *in = NULL;
	char err[512];

	if (parse(text, &in, err, sizeof(err)) == 0) {
		inputs_unref(in);
		fail_msg("accepted, wanted: %s", want);
	}
	assert_string_equal(err, want);
}

static struct inputs *
expect_ok(const char *text)
{
	struct inputs *in = NULL;
	char err[512];

	if (parse(text, &in, err, sizeof(err)) < 0)
		fail_msg("refused: %s", err);
	return in;
}

static void
test_full_example(void **state)
{
	struct inputs *in;
	const struct inputs_target *t;
	char url[256];

	(void)state;
	in = expect_ok(
	    "inputs:\n"
	    "  - Type: service_go_profile\n"
	    "    Name: checkout-pprof\n"
	    "    Mode: host\n"
	    "    Interval: 10\n"
	    "    Timeout: 15\n"
	    "    BodyLimitSize: 10240\n"
	    "    EnabledProfiles: [cpu, mem, goroutines, mutex, block]\n"
	    "    Labels: {service: checkout, env: prod}\n"
	    "    Config:\n"
	    "      Addresses:\n"
	    "        - Host: 127.0.0.1\n"
	    "          Port: 18689\n"
	    "          InstanceLabels: {zone: a}\n"
	    "outputs:\n"
	    "  - Type: jsonl\n"
	    "    Path: \"-\"\n");
	assert_int_equal(in->ntargets, 1);
	assert_int_equal(in->nnotes, 0);
	t = &in->targets[0];
	assert_string_equal(t->host, "127.0.0.1");
	assert_int_equal(t->port, 18689);
	assert_string_equal(t->instance, "127.0.0.1:18689");
	assert_string_equal(t->job, "checkout-pprof");
	assert_string_equal(t->service, "checkout");
	assert_int_equal(t->interval_s, 10);
	assert_int_equal(t->timeout_s, 15);
	assert_int_equal(t->seconds_s, 9);
	assert_int_equal(t->body_limit, 10240 * 1024);
	assert_int_equal(t->line, 12);
	assert_int_equal(t->kinds,
	    (1u << INPUTS_CPU) | (1u << INPUTS_MEM) |
	        (1u << INPUTS_GOROUTINES) | (1u << INPUTS_MUTEX) |
	        (1u << INPUTS_BLOCK));
	/* sorted by key */
	assert_int_equal(t->nlabels, 3);
	assert_string_equal(t->labels[0].key, "env");
	assert_string_equal(t->labels[0].value, "prod");
	assert_string_equal(t->labels[1].key, "service");
	assert_string_equal(t->labels[1].value, "checkout");
	assert_string_equal(t->labels[2].key, "zone");
	assert_string_equal(t->labels[2].value, "a");

	assert_int_equal(inputs_url(t, INPUTS_CPU, url, sizeof(url)), 0);
	assert_string_equal(
	    url, "http://127.0.0.1:18689/debug/pprof/profile?seconds=9");
	assert_int_equal(inputs_url(t, INPUTS_MEM, url, sizeof(url)), 0);
	assert_string_equal(url, "http://127.0.0.1:18689/debug/pprof/heap");
	assert_int_equal(
	    inputs_url(t, INPUTS_GOROUTINES, url, sizeof(url)), 0);
	assert_string_equal(
	    url, "http://127.0.0.1:18689/debug/pprof/goroutine");
	assert_int_equal(inputs_url(t, INPUTS_MUTEX, url, sizeof(url)), 0);
	assert_string_equal(
	    url, "http://127.0.0.1:18689/debug/pprof/mutex?seconds=9");
	assert_int_equal(inputs_url(t, INPUTS_BLOCK, url, sizeof(url)), 0);
	assert_string_equal(
	    url, "http://127.0.0.1:18689/debug/pprof/block?seconds=9");
	assert_int_equal(inputs_url(t, INPUTS_CPU, url, 10), -1);
	/* the CPU request may run S seconds longer than Timeout */
	assert_int_equal(inputs_timeout_ms(t, INPUTS_CPU), 24000);
	assert_int_equal(inputs_timeout_ms(t, INPUTS_MEM), 15000);
	inputs_unref(in);
}

static void
test_defaults(void **state)
{
	struct inputs *in;
	const struct inputs_target *t;

	(void)state;
	in = expect_ok(
	    "inputs:\n"
	    "  - Type: service_go_profile\n"
	    "    Config: {Addresses: [{Host: localhost, Port: 6060}]}\n");
	t = &in->targets[0];
	assert_string_equal(t->job, "service_go_profile");
	assert_string_equal(t->service, "service_go_profile");
	assert_int_equal(t->interval_s, 10);
	assert_int_equal(t->timeout_s, 15);
	assert_int_equal(t->seconds_s, 9);
	assert_int_equal(t->body_limit, 10240 * 1024);
	assert_int_equal(t->nlabels, 0);
	assert_int_equal(t->kinds,
	    (1u << INPUTS_CPU) | (1u << INPUTS_MEM) |
	        (1u << INPUTS_GOROUTINES) | (1u << INPUTS_MUTEX) |
	        (1u << INPUTS_BLOCK));
	inputs_unref(in);
}

/* Metrics: true adds the MemStats text (heap?debug=1) to the kinds. */
static void
test_metrics_adds_memstats(void **state)
{
	struct inputs *in;
	char url[256];

	(void)state;
	in = expect_ok("inputs:\n"
	               "  - Type: service_go_profile\n"
	               "    EnabledProfiles: [cpu]\n"
	               "    Metrics: true\n"
	               "    Config: {Addresses: [{Host: h, Port: 6060}]}\n");
	assert_int_equal(in->targets[0].kinds,
	    (1u << INPUTS_CPU) | (1u << INPUTS_MEMSTATS));
	assert_true(inputs_kind_is_text(INPUTS_MEMSTATS));
	assert_false(inputs_kind_is_text(INPUTS_MEM));
	assert_int_equal(
	    inputs_url(&in->targets[0], INPUTS_MEMSTATS, url, sizeof(url)), 0);
	assert_string_equal(url, "http://h:6060/debug/pprof/heap?debug=1");
	inputs_unref(in);
}

static void
test_instance_labels_win(void **state)
{
	struct inputs *in;
	const struct inputs_target *t;

	(void)state;
	in = expect_ok(
	    "inputs:\n"
	    "  - Type: service_go_profile\n"
	    "    Name: job1\n"
	    "    Labels: {service: global, b: 1}\n"
	    "    Config:\n"
	    "      Addresses:\n"
	    "        - {Host: h1, Port: 1, InstanceLabels: {service: mine}}\n"
	    "        - {Host: h2, Port: 2}\n"
	    "        - {Host: h3, Port: 3, InstanceLabels: {a: x}}\n");
	assert_int_equal(in->ntargets, 3);
	t = &in->targets[0];
	assert_string_equal(t->service, "mine");
	assert_int_equal(t->nlabels, 2);
	assert_string_equal(t->labels[0].key, "b");
	assert_string_equal(t->labels[1].key, "service");
	assert_string_equal(t->labels[1].value, "mine");
	assert_string_equal(in->targets[1].service, "global");
	t = &in->targets[2];
	assert_int_equal(t->nlabels, 3);
	assert_string_equal(t->labels[0].key, "a");
	assert_string_equal(t->labels[0].value, "x");
	assert_string_equal(t->service, "global");
	inputs_unref(in);
}

static void
test_seconds_follow_interval(void **state)
{
	static const long interval[] = {1, 2, 5, 11, 12, 60};
	static const long want[] = {1, 1, 4, 10, 10, 10};
	struct inputs *in;
	char text[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(text, sizeof(text),
		    "inputs:\n"
		    "  - Type: service_go_profile\n"
		    "    Interval: %ld\n"
		    "    Config: {Addresses: [{Host: h, Port: 1}]}\n",
		    interval[i]);
		in = expect_ok(text);
		assert_int_equal(in->targets[0].seconds_s, want[i]);
		assert_int_equal(
		    inputs_timeout_ms(&in->targets[0], INPUTS_BLOCK),
		    (15 + want[i]) * 1000);
		inputs_unref(in);
	}
}

static void
test_allocs_threadcreate_ipv6(void **state)
{
	struct inputs *in;
	char url[256];

	(void)state;
	in = expect_ok(
	    "inputs:\n"
	    "  - Type: service_go_profile\n"
	    "    EnabledProfiles: [allocs, threadcreate]\n"
	    "    Config: {Addresses: [{Host: \"::1\", Port: 6060}]}\n");
	assert_string_equal(in->targets[0].instance, "[::1]:6060");
	assert_int_equal(in->targets[0].kinds,
	    (1u << INPUTS_ALLOCS) | (1u << INPUTS_THREADCREATE));
	assert_int_equal(
	    inputs_url(&in->targets[0], INPUTS_ALLOCS, url, sizeof(url)), 0);
	assert_string_equal(url, "http://[::1]:6060/debug/pprof/allocs");
	assert_int_equal(
	    inputs_url(&in->targets[0], INPUTS_THREADCREATE, url, sizeof(url)),
	    0);
	assert_string_equal(url, "http://[::1]:6060/debug/pprof/threadcreate");
	assert_false(inputs_kind_is_delta(INPUTS_ALLOCS));
	assert_true(inputs_kind_is_delta(INPUTS_MUTEX));
	inputs_unref(in);
}

static void
test_push_input_read(void **state)
{
	struct inputs *in;

	(void)state;
	in = expect_ok("inputs:\n"
	               "  - Type: profile_push\n"
	               "    endpoints: [\"/profiling/v1/input\"]\n"
	               "  - Type: service_go_profile\n"
	               "    Config: {Addresses: [{Host: h, Port: 1}]}\n");
	assert_int_equal(in->ntargets, 1);
	assert_int_equal(in->nnotes, 0);
	assert_int_equal(in->npushes, 1);
	assert_string_equal(in->pushes[0].endpoints[0], "/profiling/v1/input");
	inputs_unref(in);

	in = expect_ok("inputs:\n  - Type: profile_push\n");
	assert_int_equal(in->ntargets, 0);
	assert_int_equal(in->npushes, 1);
	inputs_unref(in);
}

static void
test_kind_names_round_trip(void **state)
{
	enum inputs_kind k;
	int i;

	(void)state;
	for (i = 0; i < INPUTS_NKINDS; i++) {
		assert_int_equal(
		    inputs_kind_parse(
		        inputs_kind_name((enum inputs_kind)i), &k),
		    0);
		assert_int_equal(k, i);
	}
	assert_int_equal(inputs_kind_parse("heap", &k), -1);
}

static void
test_malformed_yaml(void **state)
{
	struct inputs *in;
	char err[512];

	(void)state;
	assert_int_equal(
	    parse("inputs:\n  - Type: [x\n", &in, err, sizeof(err)), -1);
	assert_memory_equal(err, "cfg.yaml:", 9);
	assert_int_equal(
	    parse("inputs:\n\t- Type: x\n", &in, err, sizeof(err)), -1);
	assert_memory_equal(err, "cfg.yaml:2:", 11);
	expect_error("inputs:\n  - &a {Type: x}\n",
	    "cfg.yaml:2: anchors are not supported");
}

#define HEAD "inputs:\n  - Type: service_go_profile\n"
#define ADDR "    Config: {Addresses: [{Host: h, Port: 1}]}\n"

static void
test_structure_errors(void **state)
{
	(void)state;
	expect_error("outputs: []\n",
	    "cfg.yaml:1: inputs: missing (the "
	    "fetcher pulls from the targets listed there)");
	expect_error(
	    "inputs: {a: 1}\n", "cfg.yaml:1: inputs: expected a list");
	expect_error("inputs:\n  - service_go_profile\n",
	    "cfg.yaml:2: inputs: each input must be a map (Type: ...)");
	expect_error("inputs:\n  - Name: x\n",
	    "cfg.yaml:2: Type: missing "
	    "(service_go_profile or profile_push)");
	expect_error("inputs:\n  - Type: metric_go\n",
	    "cfg.yaml:2: Type: unknown input type \"metric_go\" "
	    "(known: service_go_profile, profile_push)");
	expect_error(HEAD "    Intervall: 10\n" ADDR,
	    "cfg.yaml:3: unknown key \"Intervall\"");
	expect_error(HEAD "    Mode: kubernetes\n" ADDR,
	    "cfg.yaml:3: Mode: kubernetes is not supported yet "
	    "(use Mode: host with Config.Addresses)");
	expect_error(HEAD "    Mode: cluster\n" ADDR,
	    "cfg.yaml:3: Mode: expected host or kubernetes, "
	    "found \"cluster\"");
	expect_error(HEAD "    Name: \"\"\n" ADDR,
	    "cfg.yaml:3: Name: must not be empty");
}

static void
test_value_errors(void **state)
{
	(void)state;
	expect_error(HEAD "    Interval: 0\n" ADDR,
	    "cfg.yaml:3: Interval: 0 is out of range (1 to 86400)");
	expect_error(HEAD "    Interval: ten\n" ADDR,
	    "cfg.yaml:3: Interval: \"ten\" is not a whole number");
	expect_error(HEAD "    Timeout: 0\n" ADDR,
	    "cfg.yaml:3: Timeout: 0 is out of range (1 to 3600)");
	expect_error(HEAD "    BodyLimitSize: 999999999\n" ADDR,
	    "cfg.yaml:3: BodyLimitSize: 999999999 is out of range "
	    "(1 to 262144)");
	expect_error(HEAD "    EnabledProfiles: [cpu,\n      heap]\n" ADDR,
	    "cfg.yaml:4: EnabledProfiles: unknown profile \"heap\" (known: "
	    "cpu, mem, goroutines, mutex, block, allocs, threadcreate)");
	expect_error(HEAD "    EnabledProfiles: [cpu, cpu]\n" ADDR,
	    "cfg.yaml:3: EnabledProfiles: cpu is listed twice");
	expect_error(HEAD "    EnabledProfiles: []\n" ADDR,
	    "cfg.yaml:3: EnabledProfiles: empty: name at least one profile");
	expect_error(HEAD "    EnabledProfiles: cpu\n" ADDR,
	    "cfg.yaml:3: EnabledProfiles: expected a list");
	expect_error(HEAD "    EnabledProfiles: [[cpu]]\n" ADDR,
	    "cfg.yaml:3: EnabledProfiles: expected profile names");
	expect_error(HEAD "    Labels: [a]\n" ADDR,
	    "cfg.yaml:3: Labels: expected a map (key: value lines)");
	expect_error(HEAD "    Labels:\n      a: {b: c}\n" ADDR,
	    "cfg.yaml:4: Labels: a: expected a value, found a map");
}

static void
test_address_errors(void **state)
{
	(void)state;
	expect_error(HEAD,
	    "cfg.yaml:2: Config: missing (Config: "
	    "{Addresses: [{Host: ..., Port: ...}]})");
	expect_error(HEAD "    Config:\n      Adresses: []\n",
	    "cfg.yaml:4: unknown key \"Adresses\"");
	expect_error(HEAD "    Config: {}\n",
	    "cfg.yaml:3: Addresses: "
	    "missing: list at least one {Host: ..., Port: ...}");
	expect_error(HEAD "    Config:\n      Addresses: []\n",
	    "cfg.yaml:4: Addresses: empty: list at least one "
	    "{Host: ..., Port: ...}");
	expect_error(HEAD "    Config:\n      Addresses:\n        - h:1\n",
	    "cfg.yaml:5: Addresses: each address must be a map "
	    "(Host: ..., Port: ...)");
	expect_error(HEAD "    Config:\n      Addresses:\n"
	                  "        - Port: 1\n",
	    "cfg.yaml:5: Host: missing");
	expect_error(HEAD "    Config:\n      Addresses:\n"
	                  "        - Host: http://h\n          Port: 1\n",
	    "cfg.yaml:5: Host: \"http://h\" is not a host name or "
	    "IP address");
	expect_error(HEAD "    Config:\n      Addresses:\n"
	                  "        - Host: h\n",
	    "cfg.yaml:5: Port: missing");
	expect_error(HEAD "    Config:\n      Addresses:\n"
	                  "        - Host: h\n          Port: 70000\n",
	    "cfg.yaml:6: Port: 70000 is out of range (1 to 65535)");
	expect_error(HEAD "    Config:\n      Addresses:\n"
	                  "        - Host: h\n          Port: http\n",
	    "cfg.yaml:6: Port: \"http\" is not a whole number");
	expect_error(HEAD
	    "    Config:\n      Addresses:\n"
	    "        - Host: h\n          Port: 1\n          Zone: a\n",
	    "cfg.yaml:7: unknown key \"Zone\"");
	expect_error(HEAD "    Config:\n      Addresses:\n"
	                  "        - Host: h\n          Port: 1\n"
	                  "          InstanceLabels: {a: [1]}\n",
	    "cfg.yaml:7: InstanceLabels: a: expected a value, found a list");
	expect_error(HEAD "    Config:\n      Addresses:\n"
	                  "        - {Host: h, Port: 1}\n"
	                  "  - Type: service_go_profile\n"
	                  "    Config:\n      Addresses:\n"
	                  "        - {Host: h, Port: 1}\n",
	    "cfg.yaml:9: Host: h:1 is already listed at line 5");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_example),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_metrics_adds_memstats),
	    cmocka_unit_test(test_instance_labels_win),
	    cmocka_unit_test(test_seconds_follow_interval),
	    cmocka_unit_test(test_allocs_threadcreate_ipv6),
	    cmocka_unit_test(test_push_input_read),
	    cmocka_unit_test(test_kind_names_round_trip),
	    cmocka_unit_test(test_malformed_yaml),
	    cmocka_unit_test(test_structure_errors),
	    cmocka_unit_test(test_value_errors),
	    cmocka_unit_test(test_address_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
