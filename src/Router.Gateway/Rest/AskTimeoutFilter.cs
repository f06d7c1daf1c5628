using Akka.Actor;

namespace Router.Gateway.Rest;

/// <summary>
/// Turns an <see cref="AskTimeoutException"/> of an endpoint (the cluster did not answer in time: a camera's shard is
/// moving to another node, a member is unreachable, the node is overloaded) into <c>503 Service Unavailable</c> with
/// <c>Retry-After</c> and a JSON error body, instead of a bare 500. The condition is transient, so clients retry.
/// </summary>
internal sealed class AskTimeoutFilter : IEndpointFilter
{
    /// <summary>The <c>Retry-After</c> value, in seconds.</summary>
    public const int RetryAfterSeconds = 5;

    /// <summary>The JSON error message of the 503.</summary>
    public const string Message = "the cluster did not answer in time; try again";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (AskTimeoutException)
        {
            return ServiceUnavailable(context.HttpContext);
        }
    }

    /// <summary>Sets <c>Retry-After</c> and returns the 503 result <c>{"error":…}</c>.</summary>
    public static IResult ServiceUnavailable(HttpContext context)
    {
        context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Results.Json(new { error = Message }, statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}
