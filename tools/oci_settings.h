/*
 * config.json's process and linux settings that the guest agent applies, as the members it
 * takes in its RUN request (docs/agent-protocol.md): names resolved to numbers here, so the
 * guest parses no capability or rlimit name. And the warning for each setting a VM leaves out.
 */
#ifndef HVM_OCI_SETTINGS_H
#define HVM_OCI_SETTINGS_H

#include <cjson/cJSON.h>

/* The members as a JSON object's text (malloc'd); NULL when out of memory. doc is valid
 * (oci_validate). Without process.capabilities every set is empty, as with runc. */
char *oci_settings_build(const cJSON *doc);

/* One warning in --log for each field of doc present and not applied in a VM. */
void oci_settings_warn(const cJSON *doc);

#endif
