/* schedule.c - the schedule preference's parser.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "schedule.h"

#include <math.h>
#include <string.h>
#include <glib.h>

#define MAX_SCHEDULE_ENTRIES 1024

static bool label_ok(const char *s, size_t n)
{
    if (n == 0 || n >= ET_LABEL_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!(g_ascii_isalnum(s[i]) || s[i] == '-' || s[i] == '_'))
            return false;
    }
    return true;
}

static bool in_list(const char *label, const char *list)
{
    bool found = false;
    gchar **items = g_strsplit(list ? list : "", ",", -1);
    for (gchar **it = items; *it && !found; it++)
        found = g_ascii_strcasecmp(g_strstrip(*it), label) == 0;
    g_strfreev(items);
    return found;
}

/* Control characters become '?'. */
static void printable(char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
    }
}

et_schedule *et_schedule_parse(const char *text, const char *nowake, char **error)
{
    *error = NULL;
    gchar *copy = g_strdup(text ? text : "");
    gchar **items = g_strsplit_set(g_strstrip(copy), ";\n", -1);   /* a file: one entry per line */
    et_schedule *s = g_new0(et_schedule, 1);
    s->entries = g_new0(et_schedule_entry, MAX_SCHEDULE_ENTRIES);
    guint n_items = g_strv_length(items);
    for (guint i = 0; i < n_items && *error == NULL; i++) {
        gchar *item = g_strstrip(items[i]);
        if (*item == '\0')
            continue;                       /* ";;", a trailing ';' or an empty line */
        if (s->count == MAX_SCHEDULE_ENTRIES) {
            *error = g_strdup_printf("the schedule has more than %d entries", MAX_SCHEDULE_ENTRIES);
            break;
        }
        gchar **parts = g_strsplit_set(item, " \t", -1);
        gchar *time_s = NULL, *label = NULL;
        guint words = 0;
        for (gchar **p = parts; *p; p++) {
            if (**p == '\0')
                continue;
            words++;
            if (words == 1) time_s = *p;
            else if (words == 2) label = *p;
        }
        bool absolute = time_s && time_s[0] == '@';
        const char *num = time_s ? time_s + (absolute ? 1 : 0) : "";
        gchar *end = NULL;
        double t = g_ascii_strtod(num, &end);
        printable(item);                    /* the error line quotes them: no terminal escapes */
        if (time_s)
            printable(time_s);
        if (words != 2) {
            *error = g_strdup_printf("schedule entry %u (\"%s\"): expected \"SECONDS LABEL\"", i + 1, item);
        } else if (*num == '\0' || end == NULL || *end != '\0' || !isfinite(t) || t < 0) {
            *error = g_strdup_printf("schedule entry %u (\"%s\"): \"%s\" is not a number of seconds", i + 1, item, time_s);
        } else if (!label_ok(label, strlen(label))) {
            *error = g_strdup_printf("schedule entry %u (\"%s\"): the label must be 1 to %d letters, digits, '-' or '_'",
                                     i + 1, item, ET_LABEL_MAX - 1);
        } else if (s->count > 0 && absolute != s->absolute) {
            *error = g_strdup_printf("schedule entry %u (\"%s\"): mixes absolute (@) and relative times", i + 1, item);
        } else if (s->count > 0 && t <= s->entries[s->count - 1].start) {
            *error = g_strdup_printf("schedule entry %u (\"%s\"): times must increase", i + 1, item);
        } else {
            et_schedule_entry *e = &s->entries[s->count++];
            s->absolute = absolute;
            e->start = t;
            g_strlcpy(e->label, label, sizeof(e->label));
            e->wake = !in_list(label, nowake);
        }
        g_strfreev(parts);
    }
    if (*error == NULL && s->count == 0)
        *error = g_strdup("the schedule is empty (expected e.g. \"0 silence; 8 query\")");
    g_strfreev(items);
    g_free(copy);
    if (*error) {
        et_schedule_free(s);
        return NULL;
    }
    return s;
}

void et_schedule_free(et_schedule *s)
{
    if (s) {
        g_free(s->entries);
        g_free(s);
    }
}
