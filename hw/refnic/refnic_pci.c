/* SPDX-License-Identifier: MIT */
/*
 * Configuration space of the refnic PF (docs/refnic.md §2): a type-0 header,
 * PM, MSI-X and PCI Express capabilities. Writes go through per-byte write
 * masks (and RW1C masks), the way hardware decodes them, so BAR sizing and
 * read-only fields need no special code; only the few registers with side
 * effects (Initiate FLR, the Max_Payload_Size and PowerState encodings) do.
 */
#include <errno.h>
#include <string.h>

#include "refnic_priv.h"

#define CFG_COMMAND    0x04
#define CFG_BAR0       0x10
#define CMD_MEM	       (1u << 1)
#define CMD_BUS_MASTER (1u << 2)
#define CMD_RW_BITS    (CMD_MEM | CMD_BUS_MASTER | (1u << 6) | (1u << 8) | (1u << 10))

#define PM_PMCSR	 (REFNIC_PCI_CAP_PM + 4)
#define MSIX_CTRL	 (REFNIC_PCI_CAP_MSIX + 2)
#define PCIE_DEVCTL	 (REFNIC_PCI_CAP_PCIE + 0x08)
#define PCIE_DEVSTA	 (REFNIC_PCI_CAP_PCIE + 0x0a)
#define PCIE_LNKCTL	 (REFNIC_PCI_CAP_PCIE + 0x10)
#define PCIE_DEVCTL2	 (REFNIC_PCI_CAP_PCIE + 0x28)
#define PCIE_LNKCTL2	 (REFNIC_PCI_CAP_PCIE + 0x30)
#define DEVCTL_FLR	 (1u << 15)
#define DEVCTL_MPS_SHIFT 5
#define DEVCTL_MPS_MASK	 (7u << DEVCTL_MPS_SHIFT)

static void put(uint8_t *p, unsigned int off, uint32_t v, unsigned int len)
{
	for (unsigned int i = 0; i < len; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get(const uint8_t *p, unsigned int off, unsigned int len)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < len; i++)
		v |= (uint32_t)p[off + i] << (8 * i);
	return v;
}

/* A field: reset value and writable bits. */
static void field(struct refnic_dev *dev, unsigned int off, unsigned int len, uint32_t value,
		  uint32_t wmask)
{
	put(dev->cfg, off, value, len);
	put(dev->cfg_wmask, off, wmask, len);
}

static void pci_init_header(struct refnic_dev *dev)
{
	field(dev, 0x00, 2, REFNIC_PCI_VENDOR_ID, 0);
	field(dev, 0x02, 2, REFNIC_PCI_DEVICE_PF, 0);
	field(dev, CFG_COMMAND, 2, 0, CMD_RW_BITS);
	field(dev, 0x06, 2, 0x0010, 0); /* capabilities list */
	field(dev, 0x08, 1, REFNIC_PCI_REVISION, 0);
	field(dev, 0x09, 3, REFNIC_PCI_CLASS, 0);
	field(dev, 0x0c, 1, 0, 0xff); /* cache line size */
	field(dev, 0x0e, 1, 0x00, 0); /* header type 0, single function */
	/* BAR0: 64-bit memory, non-prefetchable; address bits above the size */
	field(dev, CFG_BAR0, 4, 0x4, (uint32_t) ~(dev->bar0_size - 1) & ~0xfu);
	field(dev, CFG_BAR0 + 4, 4, 0, 0xffffffffu);
	field(dev, 0x2c, 2, REFNIC_PCI_SUBSYS_VENDOR, 0);
	field(dev, 0x2e, 2, REFNIC_PCI_SUBSYS_ID, 0);
	field(dev, 0x34, 1, REFNIC_PCI_CAP_PM, 0);
	field(dev, 0x3c, 1, 0, 0xff); /* interrupt line */
}

static void pci_init_caps(struct refnic_dev *dev)
{
	/* Power Management: v3, D0/D3hot, No_Soft_Reset */
	field(dev, REFNIC_PCI_CAP_PM, 2, 0x01 | REFNIC_PCI_CAP_MSIX << 8, 0);
	field(dev, REFNIC_PCI_CAP_PM + 2, 2, 0x0003, 0);
	field(dev, PM_PMCSR, 2, 0x0008, 0x0003);

	/* MSI-X: table at BAR0 0x800, PBA at 0xc00 */
	field(dev, REFNIC_PCI_CAP_MSIX, 2, 0x11 | REFNIC_PCI_CAP_PCIE << 8, 0);
	field(dev, MSIX_CTRL, 2, REFNIC_PCI_MSIX_VECS - 1, 0xc000);
	field(dev, REFNIC_PCI_CAP_MSIX + 4, 4, REFNIC_REG_MSIX_TABLE, 0);
	field(dev, REFNIC_PCI_CAP_MSIX + 8, 4, REFNIC_REG_MSIX_PBA, 0);

	/* PCI Express v2 endpoint: FLR capable, 256 B MPS, 16 GT/s x16 */
	field(dev, REFNIC_PCI_CAP_PCIE, 2, 0x10, 0);
	field(dev, REFNIC_PCI_CAP_PCIE + 2, 2, 0x0002, 0);
	field(dev, REFNIC_PCI_CAP_PCIE + 4, 4, 0x10008001, 0);
	field(dev, PCIE_DEVCTL, 2, 0x2810, 0x79ff);
	field(dev, PCIE_DEVSTA, 2, 0, 0);
	put(dev->cfg_w1c, PCIE_DEVSTA, 0x000f, 2);
	field(dev, REFNIC_PCI_CAP_PCIE + 0x0c, 4, 0x00000104, 0);
	field(dev, PCIE_LNKCTL, 2, 0, 0xffff);
	field(dev, REFNIC_PCI_CAP_PCIE + 0x12, 2, 0x0104, 0);
	field(dev, PCIE_DEVCTL2, 2, 0, 0xffff);
	field(dev, REFNIC_PCI_CAP_PCIE + 0x2c, 4, 0x1e, 0);
	field(dev, PCIE_LNKCTL2, 2, 0x0004, 0xffff);
}

/* Power-on configuration space. */
void refnic_pci_init(struct refnic_dev *dev)
{
	memset(dev->cfg, 0, sizeof(dev->cfg));
	memset(dev->cfg_wmask, 0, sizeof(dev->cfg_wmask));
	memset(dev->cfg_w1c, 0, sizeof(dev->cfg_w1c));
	pci_init_header(dev);
	pci_init_caps(dev);
}

bool refnic_pci_bus_master(const struct refnic_dev *dev)
{
	return get(dev->cfg, CFG_COMMAND, 2) & CMD_BUS_MASTER;
}

static void pci_write_byte(struct refnic_dev *dev, unsigned int off, uint8_t val)
{
	uint8_t old = dev->cfg[off];
	uint8_t wm = dev->cfg_wmask[off];
	uint8_t w1c = dev->cfg_w1c[off];

	dev->cfg[off] = (uint8_t)(((old & ~wm) | (val & wm)) & ~(val & w1c));
}

/* Undo writes of encodings the device does not implement (§2.2). */
static void pci_fixup(struct refnic_dev *dev, uint32_t old_devctl, uint32_t old_pmcsr)
{
	uint32_t devctl = get(dev->cfg, PCIE_DEVCTL, 2);
	uint32_t pmcsr = get(dev->cfg, PM_PMCSR, 2);
	uint32_t ps = pmcsr & 3;

	if (((devctl & DEVCTL_MPS_MASK) >> DEVCTL_MPS_SHIFT) > 1)
		put(dev->cfg, PCIE_DEVCTL,
		    (devctl & ~DEVCTL_MPS_MASK) | (old_devctl & DEVCTL_MPS_MASK), 2);
	if (ps == 1 || ps == 2)
		put(dev->cfg, PM_PMCSR, (pmcsr & ~3u) | (old_pmcsr & 3), 2);
}

static bool pci_flr_requested(uint64_t offset, const uint8_t *buf, size_t len)
{
	const unsigned int hi = PCIE_DEVCTL + 1; /* bit 15 is bit 7 of the high byte */

	return offset <= hi && hi < offset + len && (buf[hi - offset] & (DEVCTL_FLR >> 8));
}

/*
 * Trapped config access, dev->lock held. Any length inside the 4 KiB is
 * accepted and acts as the sequence of byte accesses it covers.
 */
int refnic_pci_access(struct refnic_dev *dev, uint64_t offset, void *buf, size_t len, bool write)
{
	uint32_t old_devctl, old_pmcsr;

	if (offset >= REFNIC_PCI_CFG_SIZE || len > REFNIC_PCI_CFG_SIZE - offset)
		return -EINVAL;
	if (!write) {
		memcpy(buf, dev->cfg + offset, len);
		return 0;
	}
	old_devctl = get(dev->cfg, PCIE_DEVCTL, 2);
	old_pmcsr = get(dev->cfg, PM_PMCSR, 2);
	for (size_t i = 0; i < len; i++)
		pci_write_byte(dev, (unsigned int)(offset + i), ((const uint8_t *)buf)[i]);
	pci_fixup(dev, old_devctl, old_pmcsr);
	if (pci_flr_requested(offset, buf, len)) {
		RN_INFO("config: Initiate FLR");
		refnic_dev_flr(dev);
	}
	return 0;
}
