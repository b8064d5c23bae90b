package cri

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// imagesService is what the runtime serves on its socket beside the CRI
// for the verbs the CRI lacks (import, push, login, tag, export, prune): one
// gRPC service, kemudi.runtime.v1.Images, whose messages are the CRI's own
// or protobuf's well-known wrappers, so a client needs no generated code.
var imagesService = grpc.ServiceDesc{
	ServiceName: "kemudi.runtime.v1.Images",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Login", Handler: unaryHandler((*Runtime).serveLogin)},
		{MethodName: "Tag", Handler: unaryHandler((*Runtime).serveTag)},
		{MethodName: "Prune", Handler: unaryHandler((*Runtime).servePrune)},
	},
	Streams: []grpc.StreamDesc{
		{StreamName: "Import", ClientStreams: true, Handler: streamHandler((*Runtime).serveImport)},
		{StreamName: "Push", ServerStreams: true, Handler: streamHandler((*Runtime).servePush)},
		{StreamName: "Export", ServerStreams: true, Handler: streamHandler((*Runtime).serveExport)},
	},
}

func streamHandler(fn func(*Runtime, grpc.ServerStream) error) grpc.StreamHandler {
	return func(srv any, stream grpc.ServerStream) error { return fn(srv.(*Runtime), stream) }
}

// unaryHandler adapts a method taking and returning protobuf messages.
func unaryHandler[Req any, Resp any, PReq interface {
	*Req
	proto.Message
}](fn func(*Runtime, context.Context, PReq) (Resp, error)) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		req := PReq(new(Req))
		if err := dec(req); err != nil {
			return nil, err
		}
		call := func(ctx context.Context, req any) (any, error) { return fn(srv.(*Runtime), ctx, req.(PReq)) }
		if interceptor == nil {
			return call(ctx, req)
		}
		return interceptor(ctx, req, &grpc.UnaryServerInfo{Server: srv}, call)
	}
}
