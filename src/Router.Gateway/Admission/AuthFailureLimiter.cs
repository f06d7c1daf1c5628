using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Router.Actors.Metrics;

namespace Router.Gateway.Admission;

/// <summary>
/// Failed authentications per client address: a token bucket per address (<see cref="GatewayLimits.AuthFailureBurst"/>
/// tokens, refilled at <see cref="GatewayLimits.AuthFailuresPerMinute"/>), one token per failure. An address whose
/// bucket is empty is refused before any key is checked (HTTP 429 before a WebSocket upgrade or a REST request), so a
/// key cannot be guessed faster than the refill rate, while other addresses are unaffected. IPv6 clients are grouped by
/// their /64 prefix (one host usually owns a whole /64).
/// </summary>
internal sealed class AuthFailureLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<IPAddress> _limiter;
    private readonly IReadOnlyList<System.Net.IPNetwork> _trustedProxies;
    private readonly TimeSpan _period;

    public AuthFailureLimiter(IOptions<GatewayOptions> options)
    {
        var limits = options.Value.Limits;
        var burst = Math.Max(1, limits.AuthFailureBurst);
        var perMinute = Math.Max(1, limits.AuthFailuresPerMinute);
        _period = TimeSpan.FromMinutes(1) / perMinute;
        if (_period < TimeSpan.FromSeconds(1)) _period = TimeSpan.FromSeconds(1);
        _limiter = LazyPartitionedRateLimiter<IPAddress>.TokenBuckets(_ => Router.Actors.Admission.TokenBuckets.PerSecond(perMinute / 60.0, burst));
        _trustedProxies = limits.TrustedProxies.Select(System.Net.IPNetwork.Parse).ToList();
    }

    /// <summary>
    /// True when the client of <paramref name="context"/> has no failed authentications left; then
    /// <paramref name="retryAfter"/> is about when the next one is allowed (one refill period, at least 1 s).
    /// </summary>
    public bool IsBlocked(HttpContext context, out TimeSpan retryAfter)
    {
        // A whole token is needed for one more failure (the bucket refills continuously, so "any tokens left", which
        // acquiring 0 permits tests, is true again a moment after it runs out).
        retryAfter = _period;
        if (_limiter.GetStatistics(ClientAddress(context))?.CurrentAvailablePermits is not < 1) return false;
        AdmissionMetrics.Refused(Limits.AuthFailures, null);
        return true;
    }

    /// <summary>Counts one failed authentication of the client of <paramref name="context"/>.</summary>
    public void RecordFailure(HttpContext context)
    {
        TenantMetrics.AuthFailure();
        _limiter.AttemptAcquire(ClientAddress(context)).Dispose();
    }

    private static readonly AsyncLocal<Attempt?> CurrentAttempt = new();

    /// <summary>
    /// Starts the authentication of a WebSocket connection: <see cref="FailCurrent"/>, called where the failure is
    /// answered (before the error and the close go out, so a client cannot reconnect before its failure counts), and
    /// <see cref="Attempt.Failed"/> (for failures without an answer, such as the auth timeout) count it once.
    /// </summary>
    public Attempt BeginAttempt(HttpContext context) => CurrentAttempt.Value = new Attempt(this, context);

    /// <summary>Counts the current connection's authentication (see <see cref="BeginAttempt"/>) as failed; once.</summary>
    public static void FailCurrent() => CurrentAttempt.Value?.Failed();

    /// <summary>One connection's authentication.</summary>
    internal sealed class Attempt(AuthFailureLimiter limiter, HttpContext context)
    {
        private int _failed;

        /// <summary>Counts this authentication as failed (only the first call counts).</summary>
        public void Failed()
        {
            if (Interlocked.Exchange(ref _failed, 1) == 0) limiter.RecordFailure(context);
        }
    }

    /// <summary>
    /// Answers <c>429 {"error":"too many failed authentications from this address; retry after N s"}</c> with
    /// <c>Retry-After</c> and returns true when the client is blocked.
    /// </summary>
    public async Task<bool> RefuseIfBlockedAsync(HttpContext context)
    {
        if (!IsBlocked(context, out var retryAfter)) return false;
        var seconds = (int)Math.Ceiling(retryAfter.TotalSeconds);
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await context.Response.WriteAsJsonAsync(new { error = $"too many failed authentications from this address; retry after {seconds} s" });
        return true;
    }

    /// <summary>
    /// The address the limit is kept for: the TCP peer, or, when the peer is a trusted proxy, the last
    /// <c>X-Forwarded-For</c> entry that is not a trusted proxy. IPv6 addresses are cut to their /64 prefix.
    /// </summary>
    internal IPAddress ClientAddress(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress ?? IPAddress.None;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (_trustedProxies.Count > 0 && IsTrusted(address))
        {
            var forwarded = context.Request.Headers["X-Forwarded-For"].ToString().Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            for (var i = forwarded.Length - 1; i >= 0; i--)
            {
                if (!IPAddress.TryParse(forwarded[i], out var hop)) break;
                if (hop.IsIPv4MappedToIPv6) hop = hop.MapToIPv4();
                address = hop;
                if (!IsTrusted(hop)) break;
            }
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var bytes = address.GetAddressBytes();
            Array.Clear(bytes, 8, 8);
            address = new IPAddress(bytes);
        }
        return address;
    }

    private bool IsTrusted(IPAddress address)
    {
        foreach (var network in _trustedProxies)
            if (network.Contains(address)) return true;
        return false;
    }

    public void Dispose() => _limiter.Dispose();
}
