using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Router.Gateway;
using Router.Gateway.Admission;
using Xunit;

namespace Router.Tests.Admission;

/// <summary>The failed-authentication limiter's bookkeeping: per address, /64 for IPv6, X-Forwarded-For from trusted proxies only.</summary>
public sealed class AuthFailureLimiterTests
{
    private static AuthFailureLimiter Limiter(int burst, params string[] proxies) => new(Options.Create(new GatewayOptions
    {
        Limits = new GatewayLimits { AuthFailureBurst = burst, AuthFailuresPerMinute = 1, TrustedProxies = proxies.ToList() },
    }));

    private static DefaultHttpContext From(string address, string? forwardedFor = null)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(address);
        if (forwardedFor is not null) context.Request.Headers["X-Forwarded-For"] = forwardedFor;
        return context;
    }

    [Fact]
    public void An_address_is_blocked_after_its_failures_and_others_are_not()
    {
        using var limiter = Limiter(3);
        for (var i = 0; i < 3; i++)
        {
            Assert.False(limiter.IsBlocked(From("10.0.0.1"), out _));
            limiter.RecordFailure(From("10.0.0.1"));
        }
        Assert.True(limiter.IsBlocked(From("10.0.0.1"), out var retryAfter));
        Assert.InRange(retryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(61));
        Assert.False(limiter.IsBlocked(From("10.0.0.2"), out _));
    }

    [Fact]
    public void IPv6_addresses_of_one_64_prefix_share_a_limit()
    {
        using var limiter = Limiter(2);
        limiter.RecordFailure(From("2001:db8:1:2::1"));
        limiter.RecordFailure(From("2001:db8:1:2::ffff"));
        Assert.True(limiter.IsBlocked(From("2001:db8:1:2:abcd::9"), out _));
        Assert.False(limiter.IsBlocked(From("2001:db8:1:3::1"), out _));
    }

    [Fact]
    public void X_Forwarded_For_counts_only_from_a_trusted_proxy()
    {
        using var limiter = Limiter(1, "10.0.0.0/8");
        limiter.RecordFailure(From("10.1.2.3", "203.0.113.7, 10.9.9.9"));
        Assert.True(limiter.IsBlocked(From("10.1.2.4", "203.0.113.7"), out _)); // the client behind the proxy
        Assert.False(limiter.IsBlocked(From("10.1.2.4", "203.0.113.8"), out _)); // another client behind the same proxy
        // An untrusted peer cannot pick its address with the header.
        Assert.False(limiter.IsBlocked(From("198.51.100.1", "203.0.113.7"), out _));
    }
}
