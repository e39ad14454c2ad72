// Addresses on the Docker host: where published ports bind, and how the host itself reaches them.

/** The default bind address: nothing is reachable from outside the Docker host. */
export const LOOPBACK = "127.0.0.1";

/** Address the Docker host itself uses to reach a port published on `bindAddress`. */
export function hostAddress(bindAddress: string): string {
  if (bindAddress === "0.0.0.0") return LOOPBACK;
  if (bindAddress === "::") return "[::1]";
  return bindAddress.includes(":") ? `[${bindAddress}]` : bindAddress;
}
