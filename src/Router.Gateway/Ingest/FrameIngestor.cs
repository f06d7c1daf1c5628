using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.Options;
using Router.Actors.Hosting;
using Router.Actors.Identity;
using Router.Actors.Messages;
using Router.Actors.Quotas;

namespace Router.Gateway.Ingest;

/// <summary>Sends frames to their camera entity (through the shard region or proxy) and awaits the verdict.</summary>
internal sealed class FrameIngestor(IRequiredActor<CameraRegion> region, IOptions<GatewayOptions> options, TenantQuotas quotas)
{
    /// <summary>
    /// Ingests one JPEG. Returns <see cref="FrameAccepted"/> or <see cref="FrameRejected"/>; a timeout of the
    /// entity's answer becomes an <see cref="AskTimeoutException"/>. A frame over the tenant's ingest byte quota is
    /// refused here (<see cref="FrameRejectReason.IngestBytesQuota"/>) without reaching the cluster.
    /// </summary>
    public async Task<IRouterMessage> IngestAsync(StreamKey key, byte[] jpeg, long timestampMs, string? platform, CancellationToken ct)
    {
        if (!quotas.TryIngest(key.Tenant, jpeg.Length, out var overQuota)) return new FrameRejected(FrameRejectReason.IngestBytesQuota, overQuota!);
        var timeout = options.Value.IngestTimeout;
        var ingest = new IngestFrame(key, jpeg, timestampMs, platform) { TimeoutMs = (long)timeout.TotalMilliseconds };
        var reply = await region.ActorRef.Ask<IRouterMessage>(ingest, timeout, ct);
        return reply;
    }
}
