// How the Docker provider reads container settings back from the engine. An input spelled
// otherwise shows as a difference on every preview after an `up` (and `cpus` forces a
// replacement), so the component declares them in the provider's own spelling.
/**
 * `cpus` spelled the way the Docker provider reads it back from the engine, so the next preview
 * finds no difference: a declared "2" comes back as "2.0", and `cpus` forces a replacement, so
 * any other spelling would replace the container on every `pulumi up`. The provider
 * (terraform-provider-docker v4.5.0, helpers.go nanoInt64ToDecimalString) writes the NanoCPUs as
 * a decimal with nine places; when that string holds exactly nine zeros it rounds to one place
 * ("2.0", "0.5"), otherwise it drops the trailing zeros ("1.25", and "10." for ten).
 */
export function dockerCpus(cpus: number): string {
  const nanos = Math.round(cpus * 1e9);
  const whole = Math.floor(nanos / 1e9);
  const nine = `${whole}.${String(nanos % 1e9).padStart(9, "0")}`;
  if ((nine.match(/0/g) ?? []).length !== 9) return nine.replace(/0+$/, "");
  // Rounded to one place, halves away from zero (big.Rat FloatString).
  const tenths = Math.floor((nanos + 5e7) / 1e8);
  return `${Math.floor(tenths / 10)}.${tenths % 10}`;
}

/** Whether the provider's spelling of `cpus` still means `cpus` (0.05 comes back as "0.1": no). */
export const dockerKeepsCpus = (cpus: number): boolean => Math.round(Number(dockerCpus(cpus)) * 1e9) === Math.round(cpus * 1e9);

/**
 * A memory limit (MB) with no swap on top: `memorySwap` (memory plus swap) equal to `memory`.
 * Left unset, Docker sets twice the memory and the provider reads that back as a change on the
 * next preview; and a server whose GOMEMLIMIT is a share of its limit should not swap.
 */
export const memoryWithoutSwap = (memoryMb: number): { memory: number; memorySwap: number } => ({ memory: memoryMb, memorySwap: memoryMb });
