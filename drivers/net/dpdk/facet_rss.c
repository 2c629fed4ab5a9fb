/* SPDX-License-Identifier: MIT */
/*
 * net_facet: RSS hash configuration and the redirection table (see
 * facet_ethdev.h).
 *
 * The device hashes per frame type (docs/refnic.md 15.4): TCP and UDP over
 * IPv4/IPv6 on addresses and ports, and, with IPV4/IPV6, every other frame of
 * that family on addresses (facet_rss_map). A frame whose type is not
 * enabled goes to reta[0] without a hash. The key is 40 bytes.
 */
#include <errno.h>
#include <string.h>

#include <ethdev_driver.h>

#include "facet_ethdev.h"

#define FACET_RSS_IPV4_HF                                                                          \
	(RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_FRAG_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_OTHER)
#define FACET_RSS_IPV6_HF                                                                          \
	(RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_FRAG_IPV6 | RTE_ETH_RSS_NONFRAG_IPV6_OTHER)

static const struct {
	uint32_t facet;
	uint64_t rte;
} facet_rss_map[] = {
	{ FACET_ETH_RSS_IPV4, FACET_RSS_IPV4_HF },
	{ FACET_ETH_RSS_TCP_IPV4, RTE_ETH_RSS_NONFRAG_IPV4_TCP },
	{ FACET_ETH_RSS_UDP_IPV4, RTE_ETH_RSS_NONFRAG_IPV4_UDP },
	{ FACET_ETH_RSS_IPV6, FACET_RSS_IPV6_HF },
	{ FACET_ETH_RSS_TCP_IPV6, RTE_ETH_RSS_NONFRAG_IPV6_TCP },
	{ FACET_ETH_RSS_UDP_IPV6, RTE_ETH_RSS_NONFRAG_IPV6_UDP },
};

uint64_t facet_pmd_rss_to_rte(uint32_t types)
{
	uint64_t hf = 0;

	for (unsigned int i = 0; i < RTE_DIM(facet_rss_map); i++) {
		if (types & facet_rss_map[i].facet)
			hf |= facet_rss_map[i].rte;
	}
	return hf;
}

uint32_t facet_pmd_rss_from_rte(uint64_t hf)
{
	uint32_t types = 0;

	for (unsigned int i = 0; i < RTE_DIM(facet_rss_map); i++) {
		if (hf & facet_rss_map[i].rte)
			types |= facet_rss_map[i].facet;
	}
	return types;
}

/* ---- hash types and key -------------------------------------------------------------- */

/* Take @rc's key into @conf (key_len 0: keep the current one). */
static int rss_key_from_rte(struct rte_eth_dev *dev, const struct rte_eth_rss_conf *rc,
			    struct facet_eth_rss_conf *conf)
{
	uint16_t size = facet_pmd_priv(dev)->info.rss_key_size;

	conf->key_len = 0;
	if (!rc->rss_key)
		return 0;
	if (rc->rss_key_len != size || size > sizeof(conf->key)) {
		FACET_PMD_LOG(ERR, "%s: RSS key of %u bytes, the device takes %u", dev->data->name,
			      rc->rss_key_len, size);
		return -EINVAL;
	}
	memcpy(conf->key, rc->rss_key, size);
	conf->key_len = size;
	return 0;
}

/* Hash types and key of @rc into @conf; reta_size stays 0 (keep the table). */
static int rss_conf_from_rte(struct rte_eth_dev *dev, const struct rte_eth_rss_conf *rc,
			     struct facet_eth_rss_conf *conf)
{
	conf->hash_types = facet_pmd_rss_from_rte(rc->rss_hf);
	return rss_key_from_rte(dev, rc, conf);
}

/*
 * After facet_eth_configure() (which spreads several queues over all hash
 * types and the default table): apply what ethdev was asked. Without an RSS
 * mq_mode everything goes to queue 0; with one, the rss_hf given (0: no
 * hashing), even on a single queue, where the hash still reaches the mbufs.
 */
int facet_pmd_rss_configure(struct rte_eth_dev *dev)
{
	const struct rte_eth_conf *c = &dev->data->dev_conf;
	struct facet_eth_rss_conf conf = { 0 }; /* reta_size 0: keep the default table */
	int ret = 0;

	if (c->rxmode.mq_mode & RTE_ETH_MQ_RX_RSS_FLAG)
		ret = rss_conf_from_rte(dev, &c->rx_adv_conf.rss_conf, &conf);
	if (ret == 0)
		ret = facet_eth_rss_set(facet_pmd_priv(dev)->port, &conf);
	if (ret < 0)
		FACET_PMD_LOG(ERR, "%s: RSS configuration: %s", dev->data->name, strerror(-ret));
	return ret;
}

int facet_pmd_rss_hash_update(struct rte_eth_dev *dev, struct rte_eth_rss_conf *rc)
{
	struct facet_eth_rss_conf conf = { 0 }; /* reta_size 0: keep the table */
	int ret = rss_conf_from_rte(dev, rc, &conf);

	if (ret < 0)
		return ret;
	return facet_eth_rss_set(facet_pmd_priv(dev)->port, &conf);
}

int facet_pmd_rss_hash_conf_get(struct rte_eth_dev *dev, struct rte_eth_rss_conf *rc)
{
	struct facet_eth_rss_conf conf;
	int ret = facet_eth_rss_get(facet_pmd_priv(dev)->port, &conf);

	if (ret < 0)
		return ret;
	if (rc->rss_key) {
		/* 0: an application that sized the buffer from dev_info without saying so. */
		if (rc->rss_key_len && rc->rss_key_len < conf.key_len)
			return -EINVAL;
		memcpy(rc->rss_key, conf.key, conf.key_len);
	}
	rc->rss_key_len = (uint8_t)conf.key_len;
	rc->rss_hf = facet_pmd_rss_to_rte(conf.hash_types);
	return 0;
}

/* ---- redirection table ------------------------------------------------------------------ */

static bool reta_masked(const struct rte_eth_rss_reta_entry64 *reta_conf, unsigned int i)
{
	return reta_conf[i / RTE_ETH_RETA_GROUP_SIZE].mask &
	       (1ull << (i % RTE_ETH_RETA_GROUP_SIZE));
}

/* Entry @i of ethdev's table, split in groups of 64. */
static uint16_t *reta_slot(struct rte_eth_rss_reta_entry64 *reta_conf, unsigned int i)
{
	return &reta_conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
}

/* Entry @i of a table of @size entries, as the device reads it: hash & (size - 1). */
static uint16_t reta_entry(const struct facet_eth_rss_conf *conf, unsigned int i)
{
	return conf->reta_size ? conf->reta[i & (conf->reta_size - 1u)] : 0;
}

static int reta_check_size(struct rte_eth_dev *dev, uint16_t reta_size, bool exact_pow2)
{
	uint16_t max = facet_pmd_priv(dev)->info.reta_size;

	if (reta_size && reta_size <= max && reta_size <= FACET_ETH_RSS_RETA_MAX &&
	    (!exact_pow2 || rte_is_power_of_2(reta_size)))
		return 0;
	FACET_PMD_LOG(ERR, "%s: redirection table of %u entries: the device takes %s%u",
		      dev->data->name, reta_size, exact_pow2 ? "a power of two up to " : "up to ",
		      max);
	return -EINVAL;
}

/* Check @reta_size, then read the device's table into @cur. */
static int reta_get(struct rte_eth_dev *dev, uint16_t reta_size, bool exact_pow2,
		    struct facet_eth_rss_conf *cur)
{
	int ret = reta_check_size(dev, reta_size, exact_pow2);

	if (ret < 0)
		return ret;
	return facet_eth_rss_get(facet_pmd_priv(dev)->port, cur);
}

/*
 * Entries outside the masks keep their value. A size below the device's
 * (a power of two) makes the table that small: the device then indexes it
 * with the hash's low bits, as reta_query() reports.
 */
int facet_pmd_reta_update(struct rte_eth_dev *dev, struct rte_eth_rss_reta_entry64 *reta_conf,
			  uint16_t reta_size)
{
	struct facet_eth_rss_conf cur, conf;
	int ret = reta_get(dev, reta_size, true, &cur);

	if (ret < 0)
		return ret;
	conf = cur;
	conf.key_len = 0; /* keep */
	conf.reta_size = reta_size;
	for (unsigned int i = 0; i < reta_size; i++)
		conf.reta[i] =
			reta_masked(reta_conf, i) ? *reta_slot(reta_conf, i) : reta_entry(&cur, i);
	return facet_eth_rss_set(facet_pmd_priv(dev)->port, &conf);
}

int facet_pmd_reta_query(struct rte_eth_dev *dev, struct rte_eth_rss_reta_entry64 *reta_conf,
			 uint16_t reta_size)
{
	struct facet_eth_rss_conf cur;
	int ret = reta_get(dev, reta_size, false, &cur);

	if (ret < 0)
		return ret;
	for (unsigned int i = 0; i < reta_size; i++) {
		if (reta_masked(reta_conf, i))
			*reta_slot(reta_conf, i) = reta_entry(&cur, i);
	}
	return 0;
}
