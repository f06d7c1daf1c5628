using System.Runtime.CompilerServices;
using Akka.Actor;
using Router.Actors.Gateway;

namespace Router.Actors.Media;

/// <summary>
/// The per-gateway bound on variant encoding (<see cref="FrameVariants"/>): at most <see cref="Concurrency"/> encodes
/// run at once, on the process's <see cref="EncodeThreads"/> (never on the thread pool of the actors and sockets); the
/// others wait in arrival order. Waiting is bounded by its callers: each live variant waits with at most one frame
/// (<see cref="CameraVariantActor"/>; newer frames replace its pending one), and a snapshot waits at most until its
/// deadline.
/// </summary>
public sealed class VariantEncodeGate
{
    private static readonly ConditionalWeakTable<ActorSystem, VariantEncodeGate> Gates = new();
    private readonly SemaphoreSlim _slots;

    /// <summary>Creates a gate.</summary>
    /// <param name="concurrency">Encodes at once; 0 means max(1, processor count / 2).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="concurrency"/> is negative.</exception>
    public VariantEncodeGate(int concurrency)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(concurrency);
        Concurrency = concurrency > 0 ? concurrency : Math.Max(1, Environment.ProcessorCount / 2);
        _slots = new SemaphoreSlim(Concurrency, Concurrency);
    }

    /// <summary>Encodes that may run at once.</summary>
    public int Concurrency { get; }

    /// <summary>
    /// The gate of <paramref name="system"/> (one per gateway process), created with <paramref name="options"/> on first
    /// use; later calls return the same gate whatever their options.
    /// </summary>
    public static VariantEncodeGate For(ActorSystem system, VariantOptions options) =>
        Gates.GetValue(system, _ => new VariantEncodeGate(options.EncodeConcurrency));

    /// <summary>Runs <paramref name="work"/> on the <see cref="EncodeThreads"/> once a slot is free.</summary>
    /// <param name="work">The blocking encode.</param>
    /// <param name="cancellation">Gives up waiting for a slot (a started encode runs to its end).</param>
    /// <returns>The result of <paramref name="work"/>.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> fired before a slot was free.</exception>
    public async Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellation = default)
    {
        await _slots.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            return await EncodeThreads.Run(work).ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
        }
    }
}
