/* SPDX-License-Identifier: MIT */
/*
 * efi_net.c - the network brought up by vhdx.efi itself, so that a URL
 * works without `connect -r` and `ifconfig -s eth0 dhcp` first: the
 * network controllers (PCI class 0x02) are connected recursively (BDS
 * connects only boot devices), the interfaces are those with
 * EFI_IP4_CONFIG2_PROTOCOL (one per NIC, on the handle that also carries
 * the HTTP service binding), and an interface without an IPv4 address
 * gets the DHCP policy and is waited for, up to EFI_NET_DHCP_WAIT_US,
 * saying so on the console (DHCP under TCG takes several seconds).
 */
#include "efi_app.h"
#include "efi_net.h"

#define EFI_NET_DHCP_WAIT_US  (30u * 1000000u) /* [us] for a DHCP address */
#define EFI_NET_POLL_US       100000u          /* [us] between two looks */

static EFI_GUID efi_net_ip4cfg_guid = EFI_NET_IP4_CONFIG2_GUID;
static EFI_GUID efi_net_pci_io_guid = EFI_PCI_IO_PROTOCOL_GUID;

/* Connects every network controller and what sits on it, recursively. */
static void efi_net_connect(void)
{
	EFI_HANDLE *h = NULL;
	UINTN n = 0, i;

	if (EFI_ERROR(BS->LocateHandleBuffer(ByProtocol, &efi_net_pci_io_guid, NULL, &n, &h)))
		return;
	for (i = 0; i < n; i++) {
		EFI_PCI_IO_PROTOCOL *pci;
		UINT8 class_code = 0;

		if (EFI_ERROR(BS->HandleProtocol(h[i], &efi_net_pci_io_guid, (void **)&pci)) ||
		    EFI_ERROR(pci->Pci.Read(pci, EfiPciIoWidthUint8, 0x0b, 1, &class_code)))
			continue;
		if (class_code == 0x02) /* PCI base class: network controller */
			BS->ConnectController(h[i], NULL, NULL, TRUE);
	}
	FreePool(h);
}

/* The interface's facts, pooled (the route table follows it); NULL on error. */
static EFI_NET_IP4_CONFIG2_INTERFACE_INFO *efi_net_info(EFI_NET_IP4_CONFIG2 *cfg)
{
	EFI_NET_IP4_CONFIG2_INTERFACE_INFO *info;
	UINTN size = 0;
	EFI_STATUS st;

	st = cfg->GetData(cfg, EfiNetIp4Config2DataTypeInterfaceInfo, &size, NULL);
	if (st != EFI_BUFFER_TOO_SMALL || size < sizeof(*info))
		return NULL;
	info = AllocateZeroPool(size);
	if (info && EFI_ERROR(cfg->GetData(cfg, EfiNetIp4Config2DataTypeInterfaceInfo, &size, info))) {
		FreePool(info);
		info = NULL;
	}
	return info;
}

static BOOLEAN efi_net_has_address(const EFI_NET_IP4_CONFIG2_INTERFACE_INFO *info)
{
	const UINT8 *a = info->StationAddress.Addr;

	return (a[0] | a[1] | a[2] | a[3]) != 0;
}

static void efi_net_describe(const EFI_NET_IP4_CONFIG2_INTERFACE_INFO *info, const CHAR16 *what)
{
	const UINT8 *m = info->HwAddress.Addr, *a = info->StationAddress.Addr;

	Print(L"network: %s (%02x:%02x:%02x:%02x:%02x:%02x) %s %d.%d.%d.%d\n", info->Name, m[0], m[1],
	      m[2], m[3], m[4], m[5], what, a[0], a[1], a[2], a[3]);
}

/* --nic N: a decimal index; -1 when absent, -2 when not a number. */
static INTN efi_net_nic_arg(const char *arg)
{
	INTN n = 0;

	if (!arg)
		return -1;
	if (!*arg)
		return -2;
	for (; *arg; arg++) {
		if (*arg < '0' || *arg > '9' || n > 1000)
			return -2;
		n = n * 10 + (*arg - '0');
	}
	return n;
}

EFI_STATUS efi_net_up(const struct vhdx_cli *cli, EFI_HANDLE *ret_nic)
{
	EFI_NET_IP4_CONFIG2_INTERFACE_INFO *info = NULL;
	EFI_NET_IP4_CONFIG2_POLICY policy = EfiNetIp4Config2PolicyDhcp;
	EFI_NET_IP4_CONFIG2 *cfg;
	EFI_HANDLE *h = NULL;
	UINTN n = 0, i, pick;
	INTN want = efi_net_nic_arg(cli->nic);
	UINT64 start;
	EFI_STATUS st;

	if (want == -2)
		return efi_refusef(L"--nic %a: give the interface's number (0, 1, ...)",
				     cli->nic);
	efi_net_connect();
	st = BS->LocateHandleBuffer(ByProtocol, &efi_net_ip4cfg_guid, NULL, &n, &h);
	if (EFI_ERROR(st) || n == 0)
		return efi_con_fail(EFI_APP_REFUSED,
				    "network: no network interface (no NIC with a UEFI driver, or no IPv4 stack)");
	if (want >= 0 && (UINTN)want >= n) {
		FreePool(h);
		return efi_refusef(L"--nic %a: there are %d network interfaces (0..%d)",
				     cli->nic, n, n - 1);
	}
	/* without --nic: the first interface that has an address, else the first */
	pick = want >= 0 ? (UINTN)want : 0;
	for (i = 0; want < 0 && n > 1 && i < n; i++) {
		if (EFI_ERROR(BS->HandleProtocol(h[i], &efi_net_ip4cfg_guid, (void **)&cfg)))
			continue;
		info = efi_net_info(cfg);
		if (info && efi_net_has_address(info)) {
			pick = i;
			i = n;
		}
		if (info)
			FreePool(info);
		info = NULL;
	}
	*ret_nic = h[pick];
	FreePool(h);
	st = BS->HandleProtocol(*ret_nic, &efi_net_ip4cfg_guid, (void **)&cfg);
	if (!EFI_ERROR(st)) {
		info = efi_net_info(cfg);
		if (!info)
			st = EFI_DEVICE_ERROR;
	}
	if (EFI_ERROR(st))
		return efi_con_failf(EFI_APP_FAILED, L"network: cannot read the interface's IPv4 settings: %r", st);
	if (efi_net_has_address(info)) {
		FreePool(info);
		return EFI_SUCCESS;
	}
	/* EFI_NOT_READY: DHCP started; EFI_ABORTED: the policy was DHCP already */
	st = cfg->SetData(cfg, EfiNetIp4Config2DataTypePolicy, sizeof(policy), &policy);
	if (EFI_ERROR(st) && st != EFI_NOT_READY && st != EFI_ABORTED) {
		st = efi_con_failf(EFI_APP_FAILED, L"network: %s: cannot set the DHCP policy: %r", info->Name, st);
		FreePool(info);
		return st;
	}
	Print(L"network: %s has no IPv4 address: waiting up to %d s for one by DHCP (ESC stops)\n",
	      info->Name, EFI_NET_DHCP_WAIT_US / 1000000u);
	start = efi_clock_us();
	for (;;) {
		EFI_NET_IP4_CONFIG2_INTERFACE_INFO *now = efi_net_info(cfg);

		if (now && efi_net_has_address(now)) {
			efi_net_describe(now, L"got");
			FreePool(now);
			FreePool(info);
			return EFI_SUCCESS;
		}
		if (now)
			FreePool(now);
		if (efi_clock_us() - start > EFI_NET_DHCP_WAIT_US) {
			st = efi_refusef(L"network: %s: no DHCP answer in %d s", info->Name,
					   EFI_NET_DHCP_WAIT_US / 1000000u);
			break;
		}
		if (efi_con_esc_pressed()) {
			st = efi_con_fail(EFI_ABORTED, "network: waiting for DHCP stopped by ESC");
			break;
		}
		BS->Stall(EFI_NET_POLL_US);
	}
	FreePool(info);
	return st;
}
