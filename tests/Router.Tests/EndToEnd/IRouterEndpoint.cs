namespace Router.Tests.EndToEnd;

/// <summary>A Router process a test talks to over HTTP and WebSockets: an in-test <see cref="RouterHost"/> or a cluster member process.</summary>
public interface IRouterEndpoint
{
    /// <summary>The HTTP base address (<c>http://127.0.0.1:port/</c>).</summary>
    Uri HttpBase { get; }

    /// <summary>The WebSocket base address (<c>ws://127.0.0.1:port/</c>).</summary>
    Uri WsBase { get; }

    /// <summary>An HTTP client on <see cref="HttpBase"/>, with <paramref name="key"/> (an API key or a viewer token) as the Bearer token when given.</summary>
    HttpClient Http(string? key = null);
}
