// Package auth holds what authentication and authorization share: who made
// a request (User), what the request asks to do (Attributes), and the
// Authorizer that answers whether it may. The authorizers themselves live
// in packages of their own (auth/rbac).
package auth
