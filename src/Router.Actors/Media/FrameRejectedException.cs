using Router.Actors.Messages;

namespace Router.Actors.Media;

/// <summary>A frame that the ingest path refuses; <see cref="Reason"/> says why (and so which HTTP status a gateway answers).</summary>
internal sealed class FrameRejectedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="reason">Why the frame was rejected.</param>
    /// <param name="message">A short sentence for logs and for the reply to the sender.</param>
    /// <param name="innerException">The underlying failure, if any (for example an OpenCV error while decoding).</param>
    public FrameRejectedException(FrameRejectReason reason, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
    }

    /// <summary>Why the frame was rejected.</summary>
    public FrameRejectReason Reason { get; }
}
