/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * json.h - a report as one JSON document on one line (JSON Lines when a
 * process reports several times): --json, --format=json.  The schema is
 * README's "JSON report"; change JSON_SCHEMA_VERSION with it.
 */
#ifndef HEAPTRACE_JSON_H
#define HEAPTRACE_JSON_H

#include "options.h"
#include "output.h"
#include "report.h"
#include "snapshot.h"

#define JSON_SCHEMA_VERSION 2

/* The report, to o, which the caller opened and closes. */
void json_write(struct out *o, struct snapshot *s, enum report_when when,
		const enum ht_sort *keys, int nkeys);

#endif
