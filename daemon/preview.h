/* preview.h — `tandem preview`: the schedule as a person reads it, or as
 * JSON for programs (README "Command reference"). */
#pragma once

#include <stdio.h>

#include "schedule.h"

void preview_table(FILE *out, const Schedule *s, const Occurrence *occ, size_t n);
/* Returns 0, or -EIO if writing failed. */
int preview_json(FILE *out, const Schedule *s, const Occurrence *occ, size_t n);
