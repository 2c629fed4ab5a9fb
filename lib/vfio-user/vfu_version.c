/* SPDX-License-Identifier: MIT */
/*
 * VERSION negotiation payloads: two 16-bit numbers and an optional
 * NUL-terminated JSON object {"capabilities": {...}}. The JSON comes from the
 * peer, so it is parsed with explicit bounds and every value is type- and
 * range-checked; unknown capabilities are ignored (a newer peer may send them).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "facet_log.h"
#include "facet_vfu.h"

#define VFU_ERR(...) FACET_ERR(FACET_VFU_TAG, __VA_ARGS__)

/* Deepest JSON nesting accepted; capabilities need three levels. */
#define VFU_JSON_DEPTH 8

void facet_vfu_caps_default(struct facet_vfu_caps *caps)
{
	caps->max_msg_fds = FACET_VFU_DEFAULT_MAX_MSG_FDS;
	caps->max_data_xfer_size = FACET_VFU_DEFAULT_MAX_DATA_XFER_SIZE;
	caps->max_dma_maps = FACET_VFU_DEFAULT_MAX_DMA_MAPS;
	caps->pgsizes = FACET_VFU_DEFAULT_PGSIZES;
}

int facet_vfu_version_encode(uint16_t major, uint16_t minor, const struct facet_vfu_caps *caps,
			     bool with_dma_maps, void **buf, size_t *len)
{
	struct facet_vfu_version ver = { .major = major, .minor = minor };
	json_object *root, *c;
	const char *json;
	size_t jlen;
	char *out;
	int ret = -ENOMEM;

	root = json_object_new_object();
	c = json_object_new_object();
	if (!root || !c)
		goto out;
	json_object_object_add(c, "max_msg_fds", json_object_new_int64(caps->max_msg_fds));
	json_object_object_add(c, "max_data_xfer_size",
			       json_object_new_int64(caps->max_data_xfer_size));
	if (with_dma_maps) {
		json_object_object_add(c, "max_dma_maps",
				       json_object_new_int64(caps->max_dma_maps));
		json_object_object_add(c, "pgsizes", json_object_new_uint64(caps->pgsizes));
	}
	json_object_object_add(root, "capabilities", c);
	c = NULL;
	json = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	if (!json)
		goto out;
	jlen = strlen(json) + 1;
	out = malloc(sizeof(ver) + jlen);
	if (!out)
		goto out;
	memcpy(out, &ver, sizeof(ver));
	memcpy(out + sizeof(ver), json, jlen);
	*buf = out;
	*len = sizeof(ver) + jlen;
	ret = 0;
out:
	json_object_put(c);
	json_object_put(root);
	if (ret)
		VFU_ERR("cannot build VERSION payload: out of memory");
	return ret;
}

/* A non-negative integer no larger than @max, or -EINVAL. */
static int vfu_json_uint(json_object *caps, const char *key, uint64_t max, uint64_t *val)
{
	json_object *o;

	if (!json_object_object_get_ex(caps, key, &o))
		return 0; /* absent: keep the default */
	if (!json_object_is_type(o, json_type_int) || json_object_get_int64(o) < 0) {
		VFU_ERR("VERSION: capability %s is not a non-negative integer", key);
		return -EINVAL;
	}
	*val = json_object_get_uint64(o);
	if (*val > max) {
		VFU_ERR("VERSION: capability %s=%llu out of range (max %llu)", key,
			(unsigned long long)*val, (unsigned long long)max);
		return -EINVAL;
	}
	return 0;
}

static int vfu_parse_caps(json_object *root, struct facet_vfu_caps *caps)
{
	uint64_t fds = caps->max_msg_fds, xfer = caps->max_data_xfer_size;
	uint64_t maps = caps->max_dma_maps, pgs = caps->pgsizes;
	json_object *c;
	int ret;

	if (!json_object_is_type(root, json_type_object)) {
		VFU_ERR("VERSION: JSON data is not an object");
		return -EINVAL;
	}
	if (!json_object_object_get_ex(root, "capabilities", &c))
		return 0;
	if (!json_object_is_type(c, json_type_object)) {
		VFU_ERR("VERSION: \"capabilities\" is not an object");
		return -EINVAL;
	}
	ret = vfu_json_uint(c, "max_msg_fds", FACET_VFU_CAP_MAX_MSG_FDS_LIMIT, &fds);
	if (!ret)
		ret = vfu_json_uint(c, "max_data_xfer_size", FACET_VFU_CAP_MAX_XFER_LIMIT, &xfer);
	if (!ret)
		ret = vfu_json_uint(c, "max_dma_maps", UINT32_MAX, &maps);
	if (!ret)
		ret = vfu_json_uint(c, "pgsizes", UINT64_MAX, &pgs);
	if (ret)
		return ret;
	if (xfer == 0 || pgs == 0) {
		VFU_ERR("VERSION: max_data_xfer_size and pgsizes must not be 0");
		return -EINVAL;
	}
	caps->max_msg_fds = fds;
	caps->max_data_xfer_size = xfer;
	caps->max_dma_maps = maps;
	caps->pgsizes = pgs;
	return 0;
}

static int vfu_parse_json(const char *json, size_t len, struct facet_vfu_caps *caps)
{
	struct json_tokener *tok;
	json_object *root;
	int ret = -EINVAL;

	tok = json_tokener_new_ex(VFU_JSON_DEPTH);
	if (!tok) {
		VFU_ERR("VERSION: out of memory");
		return -ENOMEM;
	}
	root = json_tokener_parse_ex(tok, json, (int)len);
	if (!root && json_tokener_get_error(tok) == json_tokener_continue)
		VFU_ERR("VERSION: JSON data ends in the middle of a value");
	else if (!root)
		VFU_ERR("VERSION: malformed JSON (%s)",
			json_tokener_error_desc(json_tokener_get_error(tok)));
	else if (json_tokener_get_parse_end(tok) != len)
		VFU_ERR("VERSION: trailing data after the JSON object");
	else
		ret = vfu_parse_caps(root, caps);
	json_object_put(root);
	json_tokener_free(tok);
	return ret;
}

int facet_vfu_version_decode(const void *buf, size_t len, uint16_t *major, uint16_t *minor,
			     struct facet_vfu_caps *caps)
{
	struct facet_vfu_version ver;
	const char *json;
	size_t jlen;

	facet_vfu_caps_default(caps);
	if (len < sizeof(ver)) {
		VFU_ERR("VERSION: payload of %zu bytes is too short", len);
		return -EINVAL;
	}
	memcpy(&ver, buf, sizeof(ver));
	*major = ver.major;
	*minor = ver.minor;
	json = (const char *)buf + sizeof(ver);
	len -= sizeof(ver);
	if (len == 0)
		return 0;
	jlen = strnlen(json, len);
	if (jlen == len) {
		VFU_ERR("VERSION: JSON data is not NUL-terminated");
		return -EINVAL;
	}
	if (jlen + 1 != len) {
		VFU_ERR("VERSION: %zu bytes after the JSON data", len - jlen - 1);
		return -EINVAL;
	}
	if (jlen == 0)
		return 0;
	return vfu_parse_json(json, jlen, caps);
}

const char *facet_vfu_cmd_name(unsigned int cmd)
{
	static const char *const names[FACET_VFU_CMD_MAX] = {
		[FACET_VFU_CMD_VERSION] = "VERSION",
		[FACET_VFU_CMD_DMA_MAP] = "DMA_MAP",
		[FACET_VFU_CMD_DMA_UNMAP] = "DMA_UNMAP",
		[FACET_VFU_CMD_DEVICE_GET_INFO] = "DEVICE_GET_INFO",
		[FACET_VFU_CMD_DEVICE_GET_REGION_INFO] = "DEVICE_GET_REGION_INFO",
		[FACET_VFU_CMD_DEVICE_GET_REGION_IO_FDS] = "DEVICE_GET_REGION_IO_FDS",
		[FACET_VFU_CMD_DEVICE_GET_IRQ_INFO] = "DEVICE_GET_IRQ_INFO",
		[FACET_VFU_CMD_DEVICE_SET_IRQS] = "DEVICE_SET_IRQS",
		[FACET_VFU_CMD_REGION_READ] = "REGION_READ",
		[FACET_VFU_CMD_REGION_WRITE] = "REGION_WRITE",
		[FACET_VFU_CMD_DMA_READ] = "DMA_READ",
		[FACET_VFU_CMD_DMA_WRITE] = "DMA_WRITE",
		[FACET_VFU_CMD_DEVICE_RESET] = "DEVICE_RESET",
		[FACET_VFU_CMD_REGION_WRITE_MULTI] = "REGION_WRITE_MULTI",
		[FACET_VFU_CMD_DEVICE_FEATURE] = "DEVICE_FEATURE",
		[FACET_VFU_CMD_MIG_DATA_READ] = "MIG_DATA_READ",
		[FACET_VFU_CMD_MIG_DATA_WRITE] = "MIG_DATA_WRITE",
	};

	if (cmd < FACET_VFU_CMD_MAX && names[cmd])
		return names[cmd];
	return "unknown";
}
