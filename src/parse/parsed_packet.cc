// Layer names and link-type support for parsed_packet.h.
#include "parse/parsed_packet.h"

#include <cstddef>

namespace skyprobe {
namespace {

// gopacket's LayerType names, in Layer order. gopacket calls CDP
// "CiscoDiscovery" and LLDP "LinkLayerDiscovery".
constexpr const char* kLayerNames[] = {
    "Ethernet",
    "Dot1Q",
    "ARP",
    "IPv4",
    "IPv6",
    "Fragment",
    "IPv6HopByHop",
    "IPv6Routing",
    "IPv6Fragment",
    "IPv6Destination",
    "TCP",
    "UDP",
    "SCTP",
    "ICMPv4",
    "ICMPv6",
    "ICMPv6Echo",
    "ICMPv6RouterSolicitation",
    "ICMPv6RouterAdvertisement",
    "ICMPv6NeighborSolicitation",
    "ICMPv6NeighborAdvertisement",
    "ICMPv6Redirect",
    "DNS",
    "NTP",
    "DHCPv4",
    "DHCPv6",
    "TLS",
    "GRE",
    "MPLS",
    "VXLAN",
    "Geneve",
    "GTPv1U",
    "LLC",
    "SNAP",
    "STP",
    "CiscoDiscovery",
    "LinkLayerDiscovery",
    "EAPOL",
    "PPPoE",
    "VRRP",
};
static_assert(sizeof(kLayerNames) / sizeof(kLayerNames[0]) == static_cast<size_t>(Layer::kCount),
              "kLayerNames must list every Layer, in enum order");

}  // namespace

const char* LayerName(Layer layer) {
  const auto i = static_cast<size_t>(layer);
  return i < static_cast<size_t>(Layer::kCount) ? kLayerNames[i] : "Unknown";
}

}  // namespace skyprobe
