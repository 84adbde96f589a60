/*
 * uuid: random (version 4) UUIDs, the profile_id every message carries.
 */
#ifndef PROFPIPE_UUID_H
#define PROFPIPE_UUID_H

#define UUID_STRLEN 36

/* Writes 36 characters and a NUL into out. Returns 0, or -1 if the kernel's
 * random source failed. */
int uuid_v4(char out[UUID_STRLEN + 1]);

#endif
