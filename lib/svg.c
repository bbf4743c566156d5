// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * svg.c - the flame graph as an interactive SVG (--flame-graph=svg,
 * --format=svg), without Perl: the folded stacks of folded.c laid out as
 * flamegraph.pl lays them out -- its sort of the stacks, its merge of
 * neighbouring ones, its 1200-pixel width, 16-pixel frames and 0.1-pixel
 * cut -- so that the same frames land on the same pixels; coloured by the
 * object the code is in (the program, the C and C++ runtime, other
 * libraries, heaptrace), with a small script of its own for the details
 * line, zoom and search.  The stacks are built and sorted in tracer
 * memory, then merged twice: once for the image's height, which the header
 * gives, once to write the frames.  Report path only, under the report
 * lock.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "folded.h"
#include "tmem.h"
#include "writer.h"

/* flamegraph.pl's geometry, so that widths match it to the pixel */
#define IMAGE_WIDTH 1200
#define FRAME_HEIGHT 16
#define FONT_SIZE 12
#define FONT_WIDTH 0.59
#define MIN_WIDTH 0.1 /* pixels: narrower frames are left out */
#define XPAD 10
#define YPAD_TOP (FONT_SIZE * 3)
#define YPAD_BOTTOM (FONT_SIZE * 2 + 10)

/* What a frame's code belongs to: its colour. */
enum obj_class { OBJ_PROGRAM, OBJ_RUNTIME, OBJ_LIBRARY, OBJ_TRACER, OBJ_NONE };

/* One stack: its text (frames outermost first, ';' between) and a class
 * byte per frame, in the writer's two buffers. */
struct stack {
	size_t text, len, cls;
	uint64_t weight;
};

/* A frame of a stack: its name in the text buffer. */
struct span {
	size_t off, len;
};

struct svg {
	struct tbuf text, cls, stacks; /* stacks: struct stack[] */
	struct span *last, *cur;       /* the frames of the previous and current stack */
	size_t nlast, ncur, max_frames;
	uint64_t *start;               /* per depth: when its open frame started */
	const unsigned char *last_cls;
	uint64_t total;
	double per_time, min_time;     /* pixels per unit; the narrowest kept */
	int depth_max;
	int height;
	const char *unit;
};

/* ------------------------------------------------------------ stacks */

static enum obj_class class_of(const char *obj, const char *exe)
{
	static const char *const runtime[] = { "libc.so", "libstdc++.so", "libgcc_s.so",
					       "ld-linux", "libm.so", "libpthread.so" };
	const char *base = strrchr(obj, '/') ? strrchr(obj, '/') + 1 : obj;

	if (!*obj)
		return OBJ_NONE;
	if (!strcmp(obj, exe))
		return OBJ_PROGRAM;
	if (!strncmp(base, "libheaptrace", 12))
		return OBJ_TRACER;
	for (size_t i = 0; i < ARRAY_SIZE(runtime); i++)
		if (!strncmp(base, runtime[i], strlen(runtime[i])))
			return OBJ_RUNTIME;
	return OBJ_LIBRARY;
}

/* Backtrace b as one stack, as folded.c writes it, and its frames' classes. */
static void add_stack(struct svg *g, const struct bt *b, uint64_t weight, const char *exe,
		      char *buf)
{
	struct stack st = { g->text.len, 0, g->cls.len, weight };
	size_t frames = 0;

	if (b->truncated) {
		tbuf_put(&g->text, "[truncated];", 12);
		tbuf_put(&g->cls, (unsigned char[]){ OBJ_NONE }, 1);
		frames++;
	}
	for (int f = b->depth - 1; f >= 0; f--) {
		struct sbuf sb = { buf, 0, FOLDED_FRAME_MAX };
		const struct sym *sym = sym_resolve(b->frames[f], f > 0);
		unsigned char c = (unsigned char)class_of(sym->obj, exe);

		folded_frame(&sb, b->frames[f], f > 0);
		tbuf_put(&g->text, sb.buf, sb.len);
		for (size_t i = 0; i <= sb.len; i++)
			if (i == sb.len || sb.buf[i] == ';') {
				tbuf_put(&g->cls, &c, 1);
				frames++;
			}
		if (f)
			tbuf_put(&g->text, ";", 1);
	}
	st.len = g->text.len - st.text;
	tbuf_put(&g->stacks, &st, sizeof(st));
	if (frames + 1 > g->max_frames)
		g->max_frames = frames + 1;
	g->total += weight;
}

static const unsigned char *sort_text;

/* flamegraph.pl sorts its input lines as strings (byte order) */
static int by_text(const void *a, const void *b)
{
	const struct stack *x = a, *y = b;
	int c = memcmp(sort_text + x->text, sort_text + y->text, x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* ------------------------------------------------------------ layout */

typedef void frame_fn(struct svg *g, struct out *o, const struct span *name, int depth,
		      uint64_t start, uint64_t end, unsigned char cls);

/* Stack st's frames into g->cur, the root ("all", empty) first. */
static void split(struct svg *g, const struct stack *st)
{
	size_t from = st->text;

	g->ncur = 0;
	g->cur[g->ncur++] = (struct span){ 0, 0 };
	for (size_t i = st->text; i <= st->text + st->len; i++)
		if (i == st->text + st->len || g->text.b[i] == ';') {
			g->cur[g->ncur++] = (struct span){ from, i - from };
			from = i + 1;
		}
}

static bool same(const struct svg *g, const struct span *a, const struct span *b)
{
	return a->len == b->len && !memcmp(g->text.b + a->off, g->text.b + b->off, a->len);
}

/*
 * flamegraph.pl's flow(): the frames the previous stack had and this one
 * has not end at time now (fn), those it has begin.  The previous stack's
 * classes are cls (frame i's at cls[i - 1]).
 */
static void flow(struct svg *g, struct out *o, frame_fn *fn, uint64_t now,
		 const unsigned char *cls)
{
	size_t keep = 0;

	while (keep < g->nlast && keep < g->ncur && same(g, &g->last[keep], &g->cur[keep]))
		keep++;
	for (size_t i = g->nlast; i-- > keep;)
		fn(g, o, &g->last[i], (int)i, g->start[i], now, i ? g->last_cls[i - 1] : OBJ_NONE);
	for (size_t i = keep; i < g->ncur; i++)
		g->start[i] = now;
	memcpy(g->last, g->cur, g->ncur * sizeof(*g->cur));
	g->nlast = g->ncur;
	g->last_cls = cls;
}

/* Every frame of the sorted stacks, merged, to fn. */
static void lay_out(struct svg *g, struct out *o, frame_fn *fn)
{
	const struct stack *st = (const struct stack *)g->stacks.b;
	size_t n = g->stacks.len / sizeof(*st);
	uint64_t now = 0;

	g->nlast = 0;
	for (size_t i = 0; i < n; i++) {
		split(g, &st[i]);
		flow(g, o, fn, now, g->cls.b + st[i].cls);
		now += st[i].weight;
	}
	g->ncur = 0;
	flow(g, o, fn, now, NULL);
}

static void find_depth(struct svg *g, struct out *o, const struct span *name, int depth,
		       uint64_t start, uint64_t end, unsigned char cls)
{
	if ((double)(end - start) >= g->min_time && depth > g->depth_max)
		g->depth_max = depth;
}

/* ------------------------------------------------------------ drawing */

/* 1234567 as "1,234,567" */
static void put_thousands(struct sbuf *sb, uint64_t n)
{
	char d[24];
	int len = snprintf(d, sizeof(d), "%llu", (unsigned long long)n);

	for (int i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			sb_putc(sb, ',');
		sb_putc(sb, d[i]);
	}
}

/* n bytes of s, XML-escaped, cut before a partial UTF-8 character; sb
 * goes out to o as it fills */
static void put_xml(struct out *o, struct sbuf *sb, const char *s, size_t n)
{
	while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	for (size_t i = 0; i < n; i++) {
		if (sb->len + 8 > sb->cap)
			out_sbuf(o, sb);
		if (s[i] == '&')
			sb_puts(sb, "&amp;");
		else if (s[i] == '<')
			sb_puts(sb, "&lt;");
		else if (s[i] == '>')
			sb_puts(sb, "&gt;");
		else if (s[i] == '"')
			sb_puts(sb, "&quot;");
		else
			sb_putc(sb, s[i]);
	}
}

/* A colour per class, varied by the name so that neighbours differ. */
static void put_color(struct sbuf *sb, const char *name, size_t n, unsigned char cls)
{
	static const int base[][6] = {
		/* r, g, b and how far each varies */
		[OBJ_PROGRAM] = { 225, 90, 40, 30, 90, 20 },
		[OBJ_RUNTIME] = { 110, 150, 200, 40, 40, 40 },
		[OBJ_LIBRARY] = { 200, 180, 60, 40, 50, 30 },
		[OBJ_TRACER] = { 160, 120, 200, 30, 30, 30 },
		[OBJ_NONE] = { 190, 190, 190, 20, 20, 20 },
	};
	uint64_t h = 0xcbf29ce484222325ULL;
	const int *c = base[cls];

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)name[i]) * 0x100000001b3ULL;
	sb_printf(sb, "rgb(%d,%d,%d)", c[0] + (int)(h % (unsigned)(c[3] + 1)),
		  c[1] + (int)((h >> 16) % (unsigned)(c[4] + 1)),
		  c[2] + (int)((h >> 32) % (unsigned)(c[5] + 1)));
}

/* Perl's "%0.1f" of a number printed by "%0.1f" less another: the width */
static double tenth(double x)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%0.1f", x);
	return strtod(buf, NULL);
}

static void draw(struct svg *g, struct out *o, const struct span *name, int depth,
		 uint64_t start, uint64_t end, unsigned char cls)
{
	char buf[1024];
	struct sbuf sb = SBUF_INIT(buf);
	const char *s = (const char *)g->text.b + name->off;
	size_t n = name->len, shown = n;
	double x1, x2;
	int y1 = g->height - YPAD_BOTTOM - (depth + 1) * FRAME_HEIGHT + 1;
	int y2 = g->height - YPAD_BOTTOM - depth * FRAME_HEIGHT;
	long chars;

	if (!depth)
		end = g->total;
	if ((double)(end - start) < g->min_time)
		return;
	x1 = XPAD + (double)start * g->per_time;
	x2 = XPAD + (double)end * g->per_time;
	if (n >= 4 && !memcmp(s + n - 4, "_[i]", 4)) /* flamegraph.pl's inline mark */
		shown = n - 4;
	sb_puts(&sb, "<g data-n=\"");
	put_xml(o, &sb, depth ? s : "all", depth ? shown : 3);
	sb_puts(&sb, "\"><title>");
	put_xml(o, &sb, depth ? s : "all", depth ? shown : 3);
	sb_puts(&sb, " (");
	put_thousands(&sb, end - start);
	if (depth)
		sb_printf(&sb, " %s, %.2f%%)", g->unit, 100.0 * (double)(end - start) / (double)g->total);
	else
		sb_printf(&sb, " %s, 100%%)", g->unit);
	sb_printf(&sb, "</title><rect x=\"%0.1f\" y=\"%d\" width=\"%0.1f\" height=\"%0.1f\" fill=\"",
		  tenth(x1), y1, tenth(tenth(x2) - tenth(x1)), (double)(y2 - y1));
	put_color(&sb, s, n, cls);
	sb_printf(&sb, "\" rx=\"2\" ry=\"2\"/><text x=\"%0.2f\" y=\"%g\">", x1 + 3,
		  3 + (y1 + y2) / 2.0);
	chars = (long)((x2 - x1) / (FONT_SIZE * FONT_WIDTH));
	if (depth && chars >= 3) { /* room for a character and two dots */
		put_xml(o, &sb, s, (size_t)chars < shown ? (size_t)chars - 2 : shown);
		if ((size_t)chars < shown)
			sb_puts(&sb, "..");
	} else if (!depth && chars >= 3) {
		sb_puts(&sb, "all");
	}
	sb_puts(&sb, "</text></g>\n");
	out_sbuf(o, &sb);
}

/* The viewer: the details line, zoom on click, search (a regular
 * expression) with the share of the whole it matched.  Our own. */
static const char script[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"var W = " HT_STR(IMAGE_WIDTH) ", XPAD = " HT_STR(XPAD) ", CHARW = " HT_STR(FONT_SIZE)
	" * " HT_STR(FONT_WIDTH) ";\n"
	"var frames, details, unzoom, matched;\n"
	"function num(g, a) { return parseFloat(g.getAttribute(a)); }\n"
	"function init(evt) {\n"
	"  frames = document.getElementById('frames').children;\n"
	"  details = document.getElementById('details').firstChild;\n"
	"  unzoom = document.getElementById('unzoom');\n"
	"  matched = document.getElementById('matched').firstChild;\n"
	"  for (var i = 0; i < frames.length; i++) {\n"
	"    var g = frames[i], r = g.querySelector('rect');\n"
	"    g.setAttribute('data-x', r.getAttribute('x'));\n"
	"    g.setAttribute('data-w', r.getAttribute('width'));\n"
	"    g.setAttribute('data-fill', r.getAttribute('fill'));\n"
	"    g.onmouseover = function () { details.nodeValue = this.querySelector('title').textContent; };\n"
	"    g.onmouseout = function () { details.nodeValue = ' '; };\n"
	"    g.onclick = function () { zoom(this); };\n"
	"  }\n"
	"  unzoom.onclick = function () { zoom(null); };\n"
	"  document.getElementById('search').onclick = function () {\n"
	"    search(prompt('Search for a function (a regular expression)', ''));\n"
	"  };\n"
	"  svgready = true;\n"
	"}\n"
	"var svgready = false;\n"
	"function place(g, x, w) {\n"
	"  var r = g.querySelector('rect'), t = g.querySelector('text');\n"
	"  var name = g.getAttribute('data-n'), n = Math.floor(w / CHARW);\n"
	"  r.setAttribute('x', x.toFixed(1));\n"
	"  r.setAttribute('width', w.toFixed(1));\n"
	"  t.setAttribute('x', (x + 3).toFixed(2));\n"
	"  t.textContent = n < 3 ? '' : n < name.length ? name.substring(0, n - 2) + '..' : name;\n"
	"}\n"
	"function zoom(target) {\n"
	"  var full = W - 2 * XPAD, tx = XPAD, tw = full, ty = Infinity;\n"
	"  if (target) {\n"
	"    tx = num(target, 'data-x'); tw = num(target, 'data-w');\n"
	"    ty = num(target.querySelector('rect'), 'y');\n"
	"  }\n"
	"  for (var i = 0; i < frames.length; i++) {\n"
	"    var g = frames[i], x = num(g, 'data-x'), w = num(g, 'data-w');\n"
	"    var y = num(g.querySelector('rect'), 'y'), inside = x >= tx - 0.05 && x + w <= tx + tw + 0.05;\n"
	"    g.classList.remove('hide', 'faded');\n"
	"    if (!target) place(g, x, w);\n"
	"    else if (y > ty && x <= tx + 0.05 && x + w >= tx + tw - 0.05) {\n"
	"      g.classList.add('faded'); place(g, XPAD, full);\n"
	"    } else if (y <= ty && inside) place(g, XPAD + (x - tx) * full / tw, w * full / tw);\n"
	"    else g.classList.add('hide');\n"
	"  }\n"
	"  unzoom.classList.toggle('hide', !target);\n"
	"}\n"
	"function search(term) {\n"
	"  var re = term ? new RegExp(term) : null, spans = [], sum = 0, end = -1;\n"
	"  for (var i = 0; i < frames.length; i++) {\n"
	"    var g = frames[i], hit = re && re.test(g.getAttribute('data-n'));\n"
	"    g.querySelector('rect').setAttribute('fill', hit ? 'rgb(230,0,230)' : g.getAttribute('data-fill'));\n"
	"    if (hit) spans.push([num(g, 'data-x'), num(g, 'data-w')]);\n"
	"  }\n"
	"  spans.sort(function (a, b) { return a[0] - b[0]; });\n"
	"  for (var k = 0; k < spans.length; k++) {\n"
	"    var s = Math.max(spans[k][0], end), e = spans[k][0] + spans[k][1];\n"
	"    if (e > s) { sum += e - s; end = e; }\n"
	"  }\n"
	"  matched.nodeValue = re ? 'Matched: ' + (100 * sum / (W - 2 * XPAD)).toFixed(1) + '%' : ' ';\n"
	"}\n"
	"]]></script>\n";

static void put_header(struct svg *g, struct out *o, const struct report *r, const char *what)
{
	char buf[1024];
	struct sbuf sb = SBUF_INIT(buf);

	sb_printf(&sb, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
		       "<svg version=\"1.1\" width=\"%d\" height=\"%d\" onload=\"init(evt)\" "
		       "viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\">\n"
		       "<!-- heaptrace %s flame graph: the layout of brendangregg/FlameGraph's "
		       "flamegraph.pl -->\n"
		       "<style>text { font-family: Verdana, sans-serif; font-size: %dpx; fill: "
		       "rgb(0,0,0); } #title { text-anchor: middle; font-size: %dpx; } "
		       "#search, #unzoom { cursor: pointer; } .hide { display: none; } "
		       ".faded { opacity: 0.5; } #frames > g:hover > rect { stroke: black; "
		       "stroke-width: 0.5; cursor: pointer; }</style>\n",
		  IMAGE_WIDTH, g->height, IMAGE_WIDTH, g->height, HT_VERSION, FONT_SIZE,
		  FONT_SIZE + 5);
	out_sbuf(o, &sb);
	out_puts(o, script);
	sb_printf(&sb, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"rgb(248,248,248)\"/>\n"
		       "<text id=\"title\" x=\"%d\" y=\"%d\">", IMAGE_WIDTH, g->height,
		  IMAGE_WIDTH / 2, FONT_SIZE * 2);
	sb_printf(&sb, "%s of ", what);
	put_xml(o, &sb, r->comm, strlen(r->comm));
	sb_printf(&sb, " (pid %d, %s report)</text>\n", (int)getpid(), report_when_name(r->when));
	sb_printf(&sb, "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n", XPAD,
		  g->height - YPAD_BOTTOM / 2);
	sb_printf(&sb, "<text id=\"unzoom\" x=\"%d\" y=\"%d\" class=\"hide\">Reset Zoom</text>\n",
		  XPAD, FONT_SIZE * 2);
	sb_printf(&sb, "<text id=\"search\" x=\"%d\" y=\"%d\">Search</text>\n",
		  IMAGE_WIDTH - XPAD - 100, FONT_SIZE * 2);
	sb_printf(&sb, "<text id=\"matched\" x=\"%d\" y=\"%d\"> </text>\n<g id=\"frames\">\n",
		  IMAGE_WIDTH - XPAD - 100, g->height - YPAD_BOTTOM / 2);
	out_sbuf(o, &sb);
}

/* ------------------------------------------------------------ entry */

static bool collect(struct svg *g, const struct report *r, enum ht_sort key)
{
	char exe[SYM_PATH_MAX], *buf = tmem_alloc_scratch(FOLDED_FRAME_MAX);
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (!buf)
		return false;
	exe[len > 0 ? len : 0] = '\0';
	for (size_t i = 0; i < r->s->n; i++)
		if (snapshot_listed(&r->s->items[i], key))
			add_stack(g, bt_get(r->s->items[i].id), snapshot_weight(&r->s->items[i], key),
				  exe, buf);
	tmem_free(buf, FOLDED_FRAME_MAX);
	return !(g->text.nomem || g->cls.nomem || g->stacks.nomem);
}

static void svg_free(struct svg *g)
{
	tbuf_free(&g->text);
	tbuf_free(&g->cls);
	tbuf_free(&g->stacks);
	tmem_free(g->last, g->max_frames * sizeof(*g->last));
	tmem_free(g->cur, g->max_frames * sizeof(*g->cur));
	tmem_free(g->start, g->max_frames * sizeof(*g->start));
}

void svg_write(struct out *o, struct report *r)
{
	struct svg g = { .max_frames = 1 };
	enum ht_sort key = ht_sort_weight(r->keys[0]) ? r->keys[0] : HT_SORT_SIZE;
	const char *what = ht_sort_weight(key);

	/* "live bytes", "bytes at the heap's peak": bytes; "live blocks": blocks */
	g.unit = strstr(what, "bytes") ? "bytes" : strrchr(what, ' ') + 1;
	if (!collect(&g, r, key) ||
	    !(g.last = tmem_alloc_scratch(g.max_frames * sizeof(*g.last))) ||
	    !(g.cur = tmem_alloc_scratch(g.max_frames * sizeof(*g.cur))) ||
	    !(g.start = tmem_alloc_scratch(g.max_frames * sizeof(*g.start)))) {
		ht_warn("no memory for the flame graph");
		svg_free(&g);
		return;
	}
	sort_text = g.text.b;
	qsort(g.stacks.b, g.stacks.len / sizeof(struct stack), sizeof(struct stack), by_text);
	g.per_time = g.total ? (double)(IMAGE_WIDTH - 2 * XPAD) / (double)g.total : 0;
	g.min_time = g.total ? MIN_WIDTH / g.per_time : 1;
	lay_out(&g, o, find_depth);
	g.height = (g.depth_max + 1) * FRAME_HEIGHT + YPAD_TOP + YPAD_BOTTOM;
	put_header(&g, o, r, what);
	if (g.total)
		lay_out(&g, o, draw);
	out_puts(o, "</g>\n</svg>\n");
	svg_free(&g);
}
