/* SPDX-License-Identifier: MIT */
/*
 * Ethernet control commands (docs/refnic.md §10.8-§10.11): per-queue
 * statistics, receive mode, MTU and RSS, and the function's Ethernet
 * defaults (restored by RESET_FUNCTION and device reset).
 */
#include <errno.h>
#include <string.h>

#include "refnic_priv.h"

void refnic_eth_func_reset(struct refnic_func *fn)
{
	fn->mtu = REFNIC_DEFAULT_MTU;
	fn->rx_mode = 0;
	fn->rss_set = false;
	memset(&fn->rss, 0, sizeof(fn->rss));
}

int refnic_cmd_set_rx_mode(struct refnic_dev *dev, struct refnic_func *fn,
			   const struct refnic_sqe *sqe, uint64_t *result)
{
	const struct refnic_cmd_set_rx_mode *cmd = &sqe->set_rx_mode;

	if ((cmd->flags & ~(REFNIC_RXMODE_PROMISC | REFNIC_RXMODE_ALLMULTI)) ||
	    !refnic_is_zero(cmd->rsvd, sizeof(cmd->rsvd)))
		return REFNIC_STATUS_INVALID_FIELD;
	fn->rx_mode = cmd->flags;
	return REFNIC_STATUS_OK;
}

int refnic_cmd_set_mtu(struct refnic_dev *dev, struct refnic_func *fn, const struct refnic_sqe *sqe,
		       uint64_t *result)
{
	const struct refnic_cmd_set_mtu *cmd = &sqe->set_mtu;

	if (cmd->mtu < REFNIC_MIN_MTU || cmd->mtu > REFNIC_MAX_MTU ||
	    !refnic_is_zero(cmd->rsvd, sizeof(cmd->rsvd)))
		return REFNIC_STATUS_INVALID_FIELD;
	fn->mtu = cmd->mtu;
	return REFNIC_STATUS_OK;
}

/* The buffer's own fields: INVALID_FIELD, then BAD_QUEUE for the table's entries. */
static uint8_t rss_check(struct refnic_func *fn, const struct refnic_rss_config *c)
{
	const uint32_t types = REFNIC_RSS_IPV4 | REFNIC_RSS_TCP_IPV4 | REFNIC_RSS_UDP_IPV4 |
			       REFNIC_RSS_IPV6 | REFNIC_RSS_TCP_IPV6 | REFNIC_RSS_UDP_IPV6;

	if ((c->hash_types & ~types) || c->rsvd || !c->reta_size ||
	    c->reta_size > REFNIC_RSS_RETA_MAX || (c->reta_size & (c->reta_size - 1)))
		return REFNIC_STATUS_INVALID_FIELD;
	if (!refnic_is_zero(&c->reta[c->reta_size],
			    sizeof(c->reta[0]) * (REFNIC_RSS_RETA_MAX - c->reta_size)))
		return REFNIC_STATUS_INVALID_FIELD;
	for (unsigned int i = 0; i < c->reta_size; i++)
		if (!refnic_queue_get(fn, REFNIC_QT_RX, c->reta[i]))
			return REFNIC_STATUS_BAD_QUEUE;
	return REFNIC_STATUS_OK;
}

/* The buffer is read first (DMA_FAULT), its contents checked after (§10.11). */
int refnic_cmd_set_rss(struct refnic_dev *dev, struct refnic_func *fn, const struct refnic_sqe *sqe,
		       uint64_t *result)
{
	struct refnic_rss_config c;
	uint8_t st;
	int rc;

	if (!refnic_is_zero(sqe->raw, sizeof(sqe->raw)) || sqe->data_len != sizeof(c))
		return REFNIC_STATUS_INVALID_FIELD;
	rc = refnic_dma_read(dev, &dev->funcs[0], sqe->data_iova, &c, sizeof(c));
	if (rc == -ECANCELED)
		return rc;
	if (rc)
		return REFNIC_STATUS_DMA_FAULT;
	st = rss_check(fn, &c);
	if (st != REFNIC_STATUS_OK)
		return st;
	fn->rss = c;
	fn->rss_set = true;
	return REFNIC_STATUS_OK;
}

int refnic_cmd_query_queue_stats(struct refnic_dev *dev, struct refnic_func *fn,
				 const struct refnic_sqe *sqe, uint64_t *result)
{
	const struct refnic_cmd_queue_stats *cmd = &sqe->queue_stats;
	struct refnic_queue *q;

	if ((cmd->type != REFNIC_QT_TX && cmd->type != REFNIC_QT_RX) || cmd->rsvd0 || cmd->rsvd1 ||
	    !refnic_is_zero(cmd->rsvd, sizeof(cmd->rsvd)))
		return REFNIC_STATUS_INVALID_FIELD;
	q = refnic_queue_get(fn, cmd->type, cmd->queue_id);
	if (!q)
		return REFNIC_STATUS_BAD_QUEUE;
	*result = sizeof(q->stats);
	return refnic_cmd_write_data(dev, sqe, &q->stats, sizeof(q->stats));
}
