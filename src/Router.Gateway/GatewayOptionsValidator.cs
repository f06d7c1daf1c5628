using Microsoft.Extensions.Options;
using Router.Actors.Camera;

namespace Router.Gateway;

/// <summary>
/// Checks <c>Router:Gateway</c> when the host starts: timeouts, the admission limits of <c>Router:Gateway:Limits</c>
/// (positive, proxies that parse as CIDR networks), and that the device WebSocket message limit
/// (<see cref="GatewayOptions.MaxDeviceMessageBytes"/>) carries the largest frame the size policy accepts
/// (<c>Router:Camera:SizePolicy:HardLimitBytes</c>) with its binary header, so such a frame gets the size policy's
/// answer instead of a 1009 close.
/// </summary>
internal sealed class GatewayOptionsValidator(IOptions<CameraOptions> camera) : IValidateOptions<GatewayOptions>
{
    /// <summary>
    /// Largest binary frame header in bytes: type, two u8-length-prefixed ids of at most 255 bytes, width, height and
    /// timestamp (see <c>BinaryFrameCodec</c>).
    /// </summary>
    public const int MaxBinaryHeaderBytes = 1 + 1 + byte.MaxValue + 1 + byte.MaxValue + 4 + 4 + 8;

    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = Problems(options, Router.Actors.Hosting.RouterClusterOptionsValidator.HardLimitBytes(camera));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Every problem of <paramref name="options"/>, each naming its key; empty when valid.</summary>
    /// <param name="options">The gateway options.</param>
    /// <param name="hardLimitBytes">The size policy's hard limit in bytes; null skips the message-size check.</param>
    public static IReadOnlyList<string> Problems(GatewayOptions options, int? hardLimitBytes)
    {
        const string at = "Router:Gateway";
        var errors = new List<string>();
        void Positive(string key, TimeSpan value)
        {
            if (value <= TimeSpan.Zero) errors.Add($"{key} must be above zero (got {value})");
        }
        void NotNegative(string key, TimeSpan value)
        {
            if (value < TimeSpan.Zero) errors.Add($"{key} must not be negative (got {value})");
        }
        void PositiveCount(string key, long value)
        {
            if (value <= 0) errors.Add($"{key} ({value}) must be above zero");
        }

        Positive($"{at}:AuthTimeout", options.AuthTimeout);
        NotNegative($"{at}:PingInterval", options.PingInterval);
        NotNegative($"{at}:PingTimeout", options.PingTimeout);
        Positive($"{at}:DefaultStreamTimeout", options.DefaultStreamTimeout);
        Positive($"{at}:QueryTimeout", options.QueryTimeout);
        Positive($"{at}:IngestTimeout", options.IngestTimeout);
        NotNegative($"{at}:FrameInFlightStaleAfter", options.FrameInFlightStaleAfter);
        if (hardLimitBytes is { } hard && (long)options.MaxDeviceMessageBytes < (long)hard + MaxBinaryHeaderBytes)
            errors.Add(
                $"{at}:MaxDeviceMessageBytes ({options.MaxDeviceMessageBytes}) must be at least Router:Camera:SizePolicy:HardLimitBytes " +
                $"({hard}) + {MaxBinaryHeaderBytes} bytes of binary frame header, or a device frame the size policy accepts closes the socket with 1009");

        errors.AddRange(Ingest.RawIngestOptions.Problems(options.RawIngest));

        var limits = options.Limits;
        const string l = "Router:Gateway:Limits";
        PositiveCount($"{l}:AuthFailureBurst", limits.AuthFailureBurst);
        PositiveCount($"{l}:AuthFailuresPerMinute", limits.AuthFailuresPerMinute);
        PositiveCount($"{l}:IngestRequestsPerSecondPerKey", limits.IngestRequestsPerSecondPerKey);
        PositiveCount($"{l}:IngestBytesPerSecondPerKey", limits.IngestBytesPerSecondPerKey);
        PositiveCount($"{l}:MaxHeldBodiesPerKey", limits.MaxHeldBodiesPerKey);
        Positive($"{l}:BodyReadTimeout", limits.BodyReadTimeout);
        PositiveCount($"{l}:DeviceMessagesPerSecond", limits.DeviceMessagesPerSecond);
        PositiveCount($"{l}:MaxCamerasPerDevice", limits.MaxCamerasPerDevice);
        NotNegative($"{l}:DropNoticeInterval", limits.DropNoticeInterval);
        PositiveCount($"{l}:MaxCamerasPerConsumer", limits.MaxCamerasPerConsumer);
        PositiveCount($"{l}:MaxConsumerConnectionsPerTenant", limits.MaxConsumerConnectionsPerTenant);
        PositiveCount($"{l}:ConsumerConnectsPerSecondPerTenant", limits.ConsumerConnectsPerSecondPerTenant);
        PositiveCount($"{l}:ConsumerConnectBurstPerTenant", limits.ConsumerConnectBurstPerTenant);
        PositiveCount($"{l}:SubscriptionsPerSecondPerTenant", limits.SubscriptionsPerSecondPerTenant);
        PositiveCount($"{l}:SubscriptionBurstPerTenant", limits.SubscriptionBurstPerTenant);
        for (var i = 0; i < limits.TrustedProxies.Count; i++)
            if (!System.Net.IPNetwork.TryParse(limits.TrustedProxies[i], out _))
                errors.Add($"{l}:TrustedProxies:{i} ('{limits.TrustedProxies[i]}') is not a CIDR network such as 10.0.0.0/8");
        return errors;
    }
}
