/* SPDX-License-Identifier: MIT */
/*
 * efi_net.h - the network protocols vhdx.efi uses and gnu-efi 3.0.15 does
 * not declare, written from the UEFI specification 2.10: section 28.5
 * (EFI IPv4 Configuration II Protocol) and section 29.6 (EFI HTTP
 * Protocol).  Layouts, GUIDs and enum orders are the specification's;
 * only what the app calls is here.
 */
#ifndef EFI_NET_H
#define EFI_NET_H

#include <efi.h>

/* ---- 28.5 EFI_IP4_CONFIG2_PROTOCOL ---- */

#define EFI_NET_IP4_CONFIG2_GUID \
	{ 0x5b446ed1, 0xe30b, 0x4faa, { 0x87, 0x1a, 0x36, 0x54, 0xec, 0xa3, 0x60, 0x80 } }

typedef enum {
	EfiNetIp4Config2DataTypeInterfaceInfo,
	EfiNetIp4Config2DataTypePolicy,
	EfiNetIp4Config2DataTypeManualAddress,
	EfiNetIp4Config2DataTypeGateway,
	EfiNetIp4Config2DataTypeDnsServer,
} EFI_NET_IP4_CONFIG2_DATA_TYPE;

typedef enum {
	EfiNetIp4Config2PolicyStatic,
	EfiNetIp4Config2PolicyDhcp,
} EFI_NET_IP4_CONFIG2_POLICY;

typedef struct {
	CHAR16 Name[32];                 /* "eth0" */
	UINT8 IfType;
	UINT32 HwAddressSize;
	EFI_MAC_ADDRESS HwAddress;
	EFI_IPv4_ADDRESS StationAddress;
	EFI_IPv4_ADDRESS SubnetMask;
	UINT32 RouteTableSize;
	VOID *RouteTable;                /* EFI_IP4_ROUTE_TABLE[RouteTableSize] */
} EFI_NET_IP4_CONFIG2_INTERFACE_INFO;

typedef struct _EFI_NET_IP4_CONFIG2 EFI_NET_IP4_CONFIG2;
struct _EFI_NET_IP4_CONFIG2 {
	EFI_STATUS (EFIAPI *SetData)(EFI_NET_IP4_CONFIG2 *This, EFI_NET_IP4_CONFIG2_DATA_TYPE DataType,
				     UINTN DataSize, VOID *Data);
	EFI_STATUS (EFIAPI *GetData)(EFI_NET_IP4_CONFIG2 *This, EFI_NET_IP4_CONFIG2_DATA_TYPE DataType,
				     UINTN *DataSize, VOID *Data);
	EFI_STATUS (EFIAPI *RegisterDataNotify)(EFI_NET_IP4_CONFIG2 *This,
						EFI_NET_IP4_CONFIG2_DATA_TYPE DataType, EFI_EVENT Event);
	EFI_STATUS (EFIAPI *UnregisterDataNotify)(EFI_NET_IP4_CONFIG2 *This,
						  EFI_NET_IP4_CONFIG2_DATA_TYPE DataType, EFI_EVENT Event);
};

/* ---- 29.6 EFI_HTTP_PROTOCOL ---- */

#define EFI_NET_HTTP_SERVICE_BINDING_GUID \
	{ 0xbdc8e6af, 0xd9bc, 0x4379, { 0xa7, 0x2a, 0xe0, 0xc4, 0xe7, 0x5d, 0xae, 0x1c } }
#define EFI_NET_HTTP_PROTOCOL_GUID \
	{ 0x7a59b29b, 0x910b, 0x4171, { 0x82, 0x42, 0xa8, 0x5a, 0x0d, 0xf2, 0x5b, 0x5b } }

typedef enum {
	EfiNetHttpVersion10,
	EfiNetHttpVersion11,
} EFI_NET_HTTP_VERSION;

typedef enum {
	EfiNetHttpMethodGet,
	EfiNetHttpMethodPost,
	EfiNetHttpMethodPatch,
	EfiNetHttpMethodOptions,
	EfiNetHttpMethodConnect,
	EfiNetHttpMethodHead,
	EfiNetHttpMethodPut,
	EfiNetHttpMethodDelete,
	EfiNetHttpMethodTrace,
} EFI_NET_HTTP_METHOD;

/* EFI_HTTP_STATUS_CODE: an index, in the specification's order (the
 * numbers it stands for: efi_http.c's table). */
typedef UINT32 EFI_NET_HTTP_STATUS_CODE;

typedef struct {
	BOOLEAN UseDefaultAddress;
	EFI_IPv4_ADDRESS LocalAddress;
	EFI_IPv4_ADDRESS LocalSubnet;
	UINT16 LocalPort;
} EFI_NET_HTTPv4_ACCESS_POINT;

typedef struct {
	EFI_NET_HTTP_VERSION HttpVersion;
	UINT32 TimeOutMillisec;
	BOOLEAN LocalAddressIsIPv6;
	union {
		EFI_NET_HTTPv4_ACCESS_POINT *IPv4Node;
		VOID *IPv6Node;
	} AccessPoint;
} EFI_NET_HTTP_CONFIG_DATA;

typedef struct {
	EFI_NET_HTTP_METHOD Method;
	CHAR16 *Url;
} EFI_NET_HTTP_REQUEST_DATA;

typedef struct {
	EFI_NET_HTTP_STATUS_CODE StatusCode;
} EFI_NET_HTTP_RESPONSE_DATA;

typedef struct {
	CHAR8 *FieldName;
	CHAR8 *FieldValue;
} EFI_NET_HTTP_HEADER;

typedef struct {
	union {
		EFI_NET_HTTP_REQUEST_DATA *Request;
		EFI_NET_HTTP_RESPONSE_DATA *Response;
	} Data;
	UINTN HeaderCount;
	EFI_NET_HTTP_HEADER *Headers;
	UINTN BodyLength;
	VOID *Body;
} EFI_NET_HTTP_MESSAGE;

typedef struct {
	EFI_EVENT Event;
	EFI_STATUS Status;
	EFI_NET_HTTP_MESSAGE *Message;
} EFI_NET_HTTP_TOKEN;

typedef struct _EFI_NET_HTTP EFI_NET_HTTP;
struct _EFI_NET_HTTP {
	EFI_STATUS (EFIAPI *GetModeData)(EFI_NET_HTTP *This, EFI_NET_HTTP_CONFIG_DATA *Data);
	EFI_STATUS (EFIAPI *Configure)(EFI_NET_HTTP *This, EFI_NET_HTTP_CONFIG_DATA *Data);
	EFI_STATUS (EFIAPI *Request)(EFI_NET_HTTP *This, EFI_NET_HTTP_TOKEN *Token);
	EFI_STATUS (EFIAPI *Cancel)(EFI_NET_HTTP *This, EFI_NET_HTTP_TOKEN *Token);
	EFI_STATUS (EFIAPI *Response)(EFI_NET_HTTP *This, EFI_NET_HTTP_TOKEN *Token);
	EFI_STATUS (EFIAPI *Poll)(EFI_NET_HTTP *This);
};

/* Appendix D status codes gnu-efi 3.0.15 does not name. */
#ifndef EFI_HTTP_ERROR
#define EFI_HTTP_ERROR EFIERR(35)          /* the server answered with an error status */
#endif
#ifndef EFI_CONNECTION_FIN
#define EFI_CONNECTION_FIN EFIERR(104)     /* the peer closed the connection */
#endif
#ifndef EFI_CONNECTION_RESET
#define EFI_CONNECTION_RESET EFIERR(105)
#endif
#ifndef EFI_CONNECTION_REFUSED
#define EFI_CONNECTION_REFUSED EFIERR(106)
#endif

#endif /* EFI_NET_H */
