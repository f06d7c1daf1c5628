using Router.Actors.Identity;

namespace Router.Actors.Messages;

/// <summary>Marker for every message Router sends between actors; bound to <see cref="Serialization.RouterSerializer"/>.</summary>
public interface IRouterMessage;

/// <summary>A message for one camera entity; the shard message extractor routes it by <see cref="Key"/>.</summary>
internal interface ICameraCommand : IRouterMessage
{
    /// <summary>The stream whose entity handles the message.</summary>
    StreamKey Key { get; }
}
